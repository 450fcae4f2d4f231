#!/usr/bin/env node
// Writes flows/edge.json, cloud.json and all-in-one.json from one description, so the
// three flows cannot drift apart. Run it after changing a node's defaults here.
'use strict';
const fs = require('fs');
const path = require('path');
const model = { id: 'cfg-model', type: 'split-model', name: 'bundle', bundle: '${SPLIT_DNN_BUNDLE}', workers: '' };
const link = (id) => ({ id, type: 'split-link', name: 'broker', broker: '${SPLIT_DNN_BROKER}', protocol: '${SPLIT_DNN_MQTT_VERSION}', clientId: '', gateway: '${SPLIT_DNN_GATEWAY}', group: 'tails', verifyServer: true, caFile: '${SPLIT_DNN_CA_FILE}', certFile: '', keyFile: '', outboxDir: 'outbox', outboxMaxFrames: '100000', window: '256', resendAfter: '10', keepalive: '30' });
// `stats` names the split-stats node every pipeline stage also reports to.
const edgeNodes = (z, x0, y0, stats) => [
  { id: 'edge-comment', type: 'comment', z, name: 'Edge: camera → head → early exit → bottleneck → MQTT', info: 'Confident frames are answered at the edge (top); the rest are compressed and sent to the cloud, whose answers come back out of mqtt-transmit.', x: x0 + 250, y: y0, wires: [] },
  { id: 'edge-camera', type: 'sample-source', z, name: 'sample camera', model: 'cfg-model', fps: '${SPLIT_DNN_FPS}', limit: '0', autostart: true, x: x0 + 100, y: y0 + 60, wires: [['edge-head']] },
  { id: 'edge-head', type: 'split-head', z, name: '', model: 'cfg-model', x: x0 + 280, y: y0 + 60, wires: [['edge-gate']] },
  { id: 'edge-gate', type: 'early-exit-gate', z, name: '', model: 'cfg-model', mode: 'threshold', threshold: '', targetAccuracy: '0.93', x: x0 + 460, y: y0 + 60, wires: [['edge-results', stats], ['edge-encode']] },
  { id: 'edge-encode', type: 'bottleneck-encode', z, name: '', model: 'cfg-model', rate: 'auto', gateway: '', link: 'cfg-link', targetMs: '250', x: x0 + 660, y: y0 + 100, wires: [['edge-transmit', stats]] },
  { id: 'edge-transmit', type: 'mqtt-transmit', z, name: 'to cloud', link: 'cfg-link', role: 'edge', x: x0 + 860, y: y0 + 100, wires: [['edge-results', stats]] },
  { id: 'edge-results', type: 'debug', z, name: 'results (edge + cloud)', active: false, tosidebar: true, console: false, tostatus: true, complete: 'payload', targetType: 'msg', statusVal: 'payload.label', statusType: 'msg', x: x0 + 1080, y: y0 + 60, wires: [] },
];
const cloudNodes = (z, x0, y0, stats) => [
  { id: 'cloud-comment', type: 'comment', z, name: 'Cloud: frames from every gateway → tail → answers back', info: 'Run several cloud runtimes against an MQTT 5 broker: the shared subscription gives each frame to exactly one of them.', x: x0 + 250, y: y0, wires: [] },
  { id: 'cloud-transmit', type: 'mqtt-transmit', z, name: 'from gateways', link: 'cfg-link', role: 'cloud', x: x0 + 140, y: y0 + 60, wires: [['cloud-tail', stats]] },
  { id: 'cloud-tail', type: 'tail-infer', z, name: '', model: 'cfg-model', x: x0 + 360, y: y0 + 60, wires: [['cloud-transmit', 'cloud-results', stats]] },
  { id: 'cloud-results', type: 'debug', z, name: 'cloud results', active: false, tosidebar: true, console: false, tostatus: false, complete: 'result', targetType: 'msg', x: x0 + 580, y: y0 + 100, wires: [] },
];
// Updates and health (docs/fleet.md): the gateway switches versions, the tail holds them side by side.
const fleetNodes = (z, x0, y0, prefix, role) => [
  { id: `${prefix}-ota`, type: 'split-ota', z, name: role === 'tail' ? 'model versions' : 'model updates', model: 'cfg-model', link: 'cfg-link', role, groups: '${SPLIT_DNN_GROUPS}', publicKey: '', probationAnswers: '20', probationSeconds: '30', maxErrors: '3', x: x0 + 140, y: y0, wires: [[`${prefix}-ota-log`]] },
  { id: `${prefix}-ota-log`, type: 'debug', z, name: 'update reports', active: true, tosidebar: true, console: false, tostatus: true, complete: 'payload', targetType: 'msg', statusVal: 'topic', statusType: 'msg', x: x0 + 380, y: y0, wires: [] },
  { id: `${prefix}-health`, type: 'split-health', z, name: '', link: 'cfg-link', model: 'cfg-model', ota: `${prefix}-ota`, role: role === 'tail' ? 'cloud' : 'edge', interval: '10', x: x0 + 140, y: y0 + 40, wires: [[]] },
];
const fleetList = (z, x0, y0) => [
  { id: 'cloud-fleet', type: 'split-health', z, name: 'fleet', link: 'cfg-link', model: '', ota: '', role: 'fleet', interval: '10', x: x0 + 140, y: y0, wires: [['cloud-fleet-log']] },
  { id: 'cloud-fleet-log', type: 'debug', z, name: 'fleet (one row per runtime)', active: false, tosidebar: true, console: false, tostatus: false, complete: 'payload', targetType: 'msg', x: x0 + 380, y: y0, wires: [] },
];
const statsNodes = (z, x0, y0, watch, outputs) => [
  { id: 'stats', type: 'split-stats', z, name: '', link: 'cfg-link', watch, model: 'cfg-model', gateway: '', interval: '2', window: '10', path: '/metrics', x: x0 + 300, y: y0 + 60, wires: outputs ?? Array.from({ length: 9 }, () => []) },
  { id: 'stats-catch', type: 'catch', z, name: 'errors of this tab', scope: null, uncaught: false, x: x0 + 110, y: y0 + 60, wires: [['stats']] },
  { id: 'stats-comment', type: 'comment', z, name: 'Figures per gateway: Prometheus at /metrics' + (outputs ? ', dashboard at /dashboard' : ''), info: 'split-stats counts what the pipeline nodes and the catch node send it, and reads the link state and outbox from split-link.', x: x0 + 250, y: y0, wires: [] },
];

// Dashboard 2.0: config nodes (base, theme, page, groups) and the widgets split-stats feeds.
const dashboardConfig = (controls) => [
  { id: 'ui-base-split', type: 'ui-base', name: 'split-dnn', path: '/dashboard', appIcon: '', includeClientData: true, acceptsClientConfig: ['ui-notification', 'ui-control'], showPathInSidebar: false, headerContent: 'page', navigationStyle: 'default', titleBarStyle: 'default', showReconnectNotification: true, notificationDisplayTime: 1, showDisconnectNotification: true, allowInstall: false },
  { id: 'ui-theme-split', type: 'ui-theme', name: 'split-dnn', colors: { surface: '#1f4e5a', primary: '#3fadb5', bgPage: '#f4f6f8', groupBg: '#ffffff', groupOutline: '#d9d9e0' }, sizes: { density: 'compact', pagePadding: '12px', groupGap: '12px', groupBorderRadius: '4px', widgetGap: '8px' } },
  { id: 'ui-page-fleet', type: 'ui-page', name: 'Fleet', ui: 'ui-base-split', path: '/fleet', icon: 'chart-line', layout: 'grid', theme: 'ui-theme-split', breakpoints: [{ name: 'Default', px: 0, cols: 3 }, { name: 'Tablet', px: 576, cols: 6 }, { name: 'Small Desktop', px: 768, cols: 9 }, { name: 'Desktop', px: 1024, cols: 12 }], order: 1, className: '', visible: 'true', disabled: 'false' },
  ...[['fleet', 'Gateways', 12], ...(controls ? [['controls', 'Controls (this gateway)', 12]] : []), ['traffic', 'Traffic', 4], ['quality', 'Exits and accuracy', 4], ['link', 'Latency and link', 4]]
    .map(([id, name, width], i) => ({ id: `ui-group-${id}`, type: 'ui-group', name, page: 'ui-page-fleet', width: String(width), height: '1', order: i + 1, showTitle: true, className: '', visible: 'true', disabled: 'false', groupType: 'default' })),
];
const widget = (z, id, type, group, order, x, y, props) => ({ id, type, z, group: `ui-group-${group}`, name: '', order, width: 0, height: 0, className: '', x, y, wires: [[]], ...props });
const chart = (z, id, group, order, label, yAxisLabel, x, y, range = ['', '']) => widget(z, id, 'ui-chart', group, order, x, y, {
  label, chartType: 'line', category: 'topic', categoryType: 'msg', xAxisLabel: '', xAxisProperty: '', xAxisPropertyType: 'timestamp', xAxisType: 'time', xAxisFormat: '', xAxisFormatType: 'auto',
  xmin: '', xmax: '', yAxisLabel, yAxisProperty: 'payload', yAxisPropertyType: 'msg', ymin: range[0], ymax: range[1], bins: 10, action: 'append', stackSeries: false, pointShape: 'false', pointRadius: 4, showLegend: true,
  removeOlder: 10, removeOlderUnit: '60', removeOlderPoints: '', colors: ['#0095FF', '#FF0000', '#FF7F0E', '#2CA02C', '#A347E1', '#D62728', '#FF9896', '#9467BD', '#C5B0D5'],
  textColor: ['#666666'], textColorDefault: true, gridColor: ['#e5e5e5'], gridColorDefault: true, width: 4, height: 4, interpolation: 'linear',
});
const CHARTS = [
  ['chart-fps', 'traffic', 'Frames per second', 'frames/s'],
  ['chart-exit', 'quality', 'Exit ratio (%)', '%', ['0', '100']],
  ['chart-bytes', 'traffic', 'Bytes per transmitted frame', 'bytes'],
  ['chart-latency', 'link', 'Latency, capture to answer (ms)', 'ms'],
  ['chart-accuracy', 'quality', 'Accuracy where labels are known (%)', '%'],
  ['chart-outbox', 'link', 'Outbox depth (frames)', 'frames'],
];
const dashboardNodes = (z, x0, y0, controls) => [
  ...CHARTS.map(([id, group, label, unit, range], i) => chart(z, id, group, i + 1, label, unit, x0, y0 + 40 * i, range)),
  widget(z, 'fleet-table', 'ui-table', 'fleet', 2, x0, y0 + 240, { label: '', width: 12, maxrows: 0, passthru: false, autocols: true, showSearch: false, deselect: true, selectionType: 'none', columns: [], mobileBreakpoint: 'sm', mobileBreakpointType: 'defaults', action: 'replace' }),
  widget(z, 'fleet-text', 'ui-text', 'fleet', 1, x0, y0 + 280, { label: '', width: 12, format: '{{msg.payload}}', layout: 'row-left', style: false, font: '', fontSize: 16, color: '#717171', wrapText: false, value: 'fleet', valueType: 'msg', wires: [] }),
  ...(controls ? [
    widget(z, 'control-threshold', 'ui-slider', 'controls', 1, x0 - 540, y0 - 300, { label: 'Exit threshold (lower: more answers at the edge)', tooltip: '', width: 6, height: 1, passthru: false, outs: 'end', topic: 'threshold', topicType: 'str', thumbLabel: 'true', showTicks: 'false', min: 0, max: 1, step: 0.01, iconPrepend: '', iconAppend: '', color: '', colorTrack: '', colorThumb: '', showTextField: false, wires: [['set-threshold']] }),
    widget(z, 'control-rate', 'ui-dropdown', 'controls', 2, x0 - 540, y0 - 260, { label: 'Rate level', tooltip: '', width: 6, height: 1, passthru: false, multiple: false, chips: false, clearable: false, options: [{ label: 'auto (follows the link)', value: 'auto', type: 'str' }], payload: '', topic: 'rate', topicType: 'str', typeIsComboBox: false, msgTrigger: 'onChange', wires: [['set-rate']] }),
    { id: 'set-threshold', type: 'change', z, name: 'msg.threshold', rules: [{ t: 'set', p: 'threshold', pt: 'msg', to: 'payload', tot: 'msg' }], action: '', property: '', from: '', to: '', reg: false, x: x0 - 300, y: y0 - 300, wires: [['edge-gate']] },
    { id: 'set-rate', type: 'change', z, name: 'msg.rate', rules: [{ t: 'set', p: 'rate', pt: 'msg', to: 'payload', tot: 'msg' }], action: '', property: '', from: '', to: '', reg: false, x: x0 - 300, y: y0 - 260, wires: [['edge-encode']] },
  ] : []),
];
const statsOutputs = (controls) => [...CHARTS.map(([id]) => [id]), ['fleet-table', 'fleet-text'], controls ? ['control-threshold'] : [], controls ? ['control-rate'] : []];

const tab = (id, label) => ({ id, type: 'tab', label, disabled: false, info: '' });
const write = (name, nodes) => fs.writeFileSync(path.join(__dirname, '..', 'flows', name), JSON.stringify(nodes, null, 2) + '\n');
write('edge.json', [tab('tab-edge', 'split-dnn edge'), ...edgeNodes('tab-edge', 0, 40, 'stats'), ...statsNodes('tab-edge', 0, 240, 'edge'), ...fleetNodes('tab-edge', 0, 360, 'edge', 'gateway'), model, link('cfg-link')]);
write('cloud.json', [tab('tab-cloud', 'split-dnn cloud'), ...cloudNodes('tab-cloud', 0, 40, 'stats'), ...statsNodes('tab-cloud', 0, 200, 'cloud', statsOutputs(false)),
  ...fleetNodes('tab-cloud', 0, 320, 'cloud', 'tail'), ...fleetList('tab-cloud', 0, 400),
  ...dashboardNodes('tab-cloud', 700, 200, false), ...dashboardConfig(false), model, link('cfg-link')]);
write('all-in-one.json', [tab('tab-demo', 'split-dnn demo'), ...edgeNodes('tab-demo', 0, 40, 'stats'), ...cloudNodes('tab-demo', 0, 320, 'stats'), ...statsNodes('tab-demo', 0, 480, 'both', statsOutputs(true)),
  ...fleetNodes('tab-demo', 0, 600, 'edge', 'gateway'), ...fleetList('tab-demo', 0, 680),
  ...dashboardNodes('tab-demo', 700, 480, true), ...dashboardConfig(true), model, link('cfg-link')]);
