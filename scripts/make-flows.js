#!/usr/bin/env node
// Writes flows/edge.json, cloud.json, all-in-one.json and hardware.json from one
// description, so the flows cannot drift apart (the build copies them to examples/). Run it
// after changing a node's defaults here. Each section is a group laid out left to right;
// figures reach split-stats through link nodes rather than wires across the tab.
'use strict';
const fs = require('fs');
const path = require('path');
const { tab, group, linkOut, linkIn } = require('./flows/layout');
const { dashboardConfig, widgets, widgetOutputs, controls } = require('./flows/dashboard');

const model = (z) => ({ id: 'cfg-model', type: 'split-model', z, name: 'bundle', bundle: '${SPLIT_DNN_BUNDLE}', workers: '' });
const link = (z) => ({ id: 'cfg-link', type: 'split-link', z, name: 'broker', broker: '${SPLIT_DNN_BROKER}', protocol: '${SPLIT_DNN_MQTT_VERSION}', clientId: '', gateway: '${SPLIT_DNN_GATEWAY}', group: 'tails', verifyServer: true, caFile: '${SPLIT_DNN_CA_FILE}', certFile: '', keyFile: '', outboxDir: 'outbox', outboxMaxFrames: '100000', window: '256', resendAfter: '10', keepalive: '30', coalesce: '${SPLIT_DNN_COALESCE_MS}' });
const debug = (id, z, name, x, y, more) => ({ id, type: 'debug', z, name, active: false, tosidebar: true, console: false, tostatus: false, complete: 'payload', targetType: 'msg', x, y, wires: [], ...more });
// Promise mode's settings (early-exit-gate help): set mode 'promise' to use them.
const PROMISE = { epsilon: '0.02', delta: '0.05', auditShare: '0.005', auditBudget: '0', auditRide: '1000', loss: 'disagreement' };
// Every stage reports to split-stats through a link out of its own ("figures"), next to it.
const FIGURES = 'stats-in';
const figures = (id, z, x, y) => linkOut(id, z, 'figures', FIGURES, x, y);

const edge = (z, x0, y0) => group('grp-edge', z, 'Edge: camera → head → early exit → bottleneck → MQTT', [
  { id: 'edge-camera', type: 'sample-source', z, name: 'sample camera', model: 'cfg-model', fps: '${SPLIT_DNN_FPS}', limit: '0', autostart: true, x: x0 + 100, y: y0, wires: [['edge-head']] },
  { id: 'edge-head', type: 'split-head', z, name: '', model: 'cfg-model', x: x0 + 280, y: y0, wires: [['edge-gate']] },
  { id: 'edge-gate', type: 'early-exit-gate', z, name: '', model: 'cfg-model', mode: 'threshold', threshold: '', targetAccuracy: '0.93', ...PROMISE, x: x0 + 460, y: y0, wires: [['edge-results', 'edge-fig-exit'], ['edge-encode']] },
  figures('edge-fig-exit', z, x0 + 580, y0 - 40),
  { id: 'edge-encode', type: 'bottleneck-encode', z, name: '', model: 'cfg-model', rate: 'auto', gateway: '', link: 'cfg-link', targetMs: '250', x: x0 + 640, y: y0 + 80, wires: [['edge-transmit', 'edge-fig-frame']] },
  figures('edge-fig-frame', z, x0 + 760, y0 + 130),
  { id: 'edge-transmit', type: 'mqtt-transmit', z, name: 'to cloud', link: 'cfg-link', role: 'edge', x: x0 + 840, y: y0 + 80, wires: [['edge-results', 'edge-fig-answer']] },
  figures('edge-fig-answer', z, x0 + 960, y0 + 130),
  debug('edge-results', z, 'results (edge + cloud)', x0 + 1080, y0, { tostatus: true, statusVal: 'payload.label', statusType: 'msg' }),
], 'Confident frames are answered at the edge (top row); the rest are compressed and sent to the cloud, whose answers come back out of mqtt-transmit.');

const cloud = (z, x0, y0) => group('grp-cloud', z, 'Cloud: frames from every gateway → tail → answers back', [
  { id: 'cloud-transmit', type: 'mqtt-transmit', z, name: 'from gateways', link: 'cfg-link', role: 'cloud', x: x0 + 120, y: y0, wires: [['cloud-tail', 'cloud-fig-in']] },
  figures('cloud-fig-in', z, x0 + 240, y0 + 50),
  { id: 'cloud-tail', type: 'tail-infer', z, name: '', model: 'cfg-model', x: x0 + 360, y: y0, wires: [['cloud-transmit', 'cloud-results', 'cloud-fig-answer']] },
  figures('cloud-fig-answer', z, x0 + 480, y0 + 50),
  debug('cloud-results', z, 'cloud results', x0 + 600, y0, { complete: 'result' }),
], 'Run several cloud runtimes against an MQTT 5 broker: the shared subscription gives each frame to exactly one of them.');

// split-stats and what it feeds: with a dashboard, its outputs in order, one widget row each.
const stats = (z, x0, y0, watch, dashboard) => {
  const outs = dashboard ? [...widgetOutputs(), ...(dashboard === 'controls' ? [['stats-threshold'], ['stats-rate']] : [[], []]), ['chart-audit']] : Array.from({ length: 10 }, () => []);
  return [
    ...group('grp-stats', z, 'Figures per gateway: Prometheus at /metrics' + (dashboard ? ', dashboard at /dashboard' : ''), [
      { id: 'stats-catch', type: 'catch', z, name: 'errors of this tab', scope: null, uncaught: false, x: x0 + 140, y: y0, wires: [['stats']] },
      linkIn(FIGURES, z, 'figures', [], x0 + 140, y0 + 60, ['stats']),
      { id: 'stats', type: 'split-stats', z, name: '', link: 'cfg-link', watch, model: 'cfg-model', gateway: '', interval: '2', window: '10', path: '/metrics', x: x0 + 340, y: y0 + 30, wires: outs },
      ...(dashboard === 'controls' ? [linkOut('stats-threshold', z, 'threshold in use', 'controls-threshold', x0 + 500, y0 + 300), linkOut('stats-rate', z, 'rate in use', 'controls-rate', x0 + 500, y0 + 340)] : []),
    ], 'split-stats counts what the pipeline nodes and the catch node send it, and reads the link state and outbox from split-link.'),
    ...(dashboard ? group('grp-widgets', z, 'Dashboard 2.0 widgets', widgets(z, x0 + 660, y0 - 20)) : []),
  ];
};

// Updates and health (docs/fleet.md): the gateway switches versions, the tail holds them side by side.
const fleet = (z, x0, y0, prefix, role, list) => group('grp-fleet', z, 'Model updates and health', [
  { id: `${prefix}-ota`, type: 'split-ota', z, name: role === 'tail' ? 'model versions' : 'model updates', model: 'cfg-model', link: 'cfg-link', role, groups: '${SPLIT_DNN_GROUPS}', publicKey: '', probationAnswers: '20', probationSeconds: '30', maxErrors: '3', x: x0 + 120, y: y0, wires: [[`${prefix}-ota-log`]] },
  debug(`${prefix}-ota-log`, z, 'update reports', x0 + 360, y0, { active: true, tostatus: true, statusVal: 'topic', statusType: 'msg' }),
  { id: `${prefix}-health`, type: 'split-health', z, name: '', link: 'cfg-link', model: 'cfg-model', ota: `${prefix}-ota`, role: role === 'tail' ? 'cloud' : 'edge', interval: '10', x: x0 + 120, y: y0 + 50, wires: [[]] },
  ...(list ? [
    { id: 'cloud-fleet', type: 'split-health', z, name: 'fleet', link: 'cfg-link', model: '', ota: '', role: 'fleet', interval: '10', x: x0 + 120, y: y0 + 100, wires: [['cloud-fleet-log']] },
    debug('cloud-fleet-log', z, 'fleet (one row per runtime)', x0 + 360, y0 + 100),
  ] : []),
]);

const controlGroup = (z, x0, y0) => group('grp-controls', z, 'Dashboard controls: exit threshold and rate', controls(z, x0 + 160, y0, 'edge-gate', 'edge-encode',
  (x, y, w) => linkIn('controls-threshold', z, 'threshold in use', ['stats-threshold'], x, y, w),
  (x, y, w) => linkIn('controls-rate', z, 'rate in use', ['stats-rate'], x, y, w)));

// A PIR on D2 captures a frame; confident answers light the LED on D13 for bags; the rest go
// to the cloud, whose answers turn the servo on D10 (docs/hardware.md).
const hardware = (z, x0, y0) => [
  { id: 'hw-board', type: 'gateway-board', z, name: 'uno', port: '${SPLIT_DNN_SERIAL_PORT}', baud: '57600', reconnect: '2' },
  ...group('grp-hardware', z, 'PIR → camera → head → early exit → LED; the rest → cloud → servo', [
    { id: 'hw-pir', type: 'board-source', z, name: 'PIR', board: 'hw-board', mode: 'trigger', pins: '2', edge: 'rising', pullup: false, invert: false, debounce: '2000', period: '100', window: '1', overlap: '0', topic: '', x: x0 + 100, y: y0, wires: [['hw-camera']] },
    { id: 'hw-camera', type: 'camera-source', z, name: 'camera', model: 'cfg-model', source: '${SPLIT_DNN_CAMERA}', width: '', height: '', channels: '1', fps: '0', fit: 'crop', invert: false, autostart: false, x: x0 + 260, y: y0, wires: [['hw-head']] },
    { id: 'hw-head', type: 'split-head', z, name: '', model: 'cfg-model', x: x0 + 420, y: y0, wires: [['hw-gate']] },
    { id: 'hw-gate', type: 'early-exit-gate', z, name: '', model: 'cfg-model', mode: 'threshold', threshold: '0.8', targetAccuracy: '0.93', ...PROMISE, x: x0 + 600, y: y0, wires: [['hw-led'], ['hw-encode']] },
    { id: 'hw-led', type: 'board-actuator', z, name: 'bag LED', board: 'hw-board', kind: 'led', pin: '13', labels: 'Bag', minConfidence: '0.8', drive: 'on-off', normallyClosed: false, angleMin: '0', angleMax: '180', labelAngles: '', x: x0 + 800, y: y0 - 40, wires: [[]] },
    { id: 'hw-encode', type: 'bottleneck-encode', z, name: '', model: 'cfg-model', rate: 'auto', gateway: '', link: 'cfg-link', targetMs: '250', x: x0 + 800, y: y0 + 60, wires: [['hw-transmit']] },
    { id: 'hw-transmit', type: 'mqtt-transmit', z, name: 'to cloud', link: 'cfg-link', role: 'edge', x: x0 + 1000, y: y0 + 60, wires: [['hw-servo']] },
    { id: 'hw-servo', type: 'board-actuator', z, name: 'sorting servo', board: 'hw-board', kind: 'servo', pin: '10', labels: '', minConfidence: '0.5', drive: 'on-off', normallyClosed: false, angleMin: '0', angleMax: '180', labelAngles: 'Bag=45, Sneaker=135', x: x0 + 1200, y: y0 + 60, wires: [[]] },
  ], 'Set SPLIT_DNN_SERIAL_PORT and SPLIT_DNN_CAMERA on this tab (or in the environment); without a board the nodes say so in their status and retry.'),
];

const INFO = 'Every ${SPLIT_DNN_*} field reads this tab\'s environment variables (Edit tab ▸ Environment): each is the process environment\'s value when set, else a default. The cloud side needs an MQTT broker (mosquitto, say) at SPLIT_DNN_BROKER; `split-dnn start` brings its own.';
// A link in lists the link outs that reach it, as the editor keeps them.
const withLinks = (nodes) => nodes.map((n) => (n.type === 'link in' ? { ...n, links: nodes.filter((o) => o.type === 'link out' && o.links.includes(n.id)).map((o) => o.id) } : n));
const write = (name, id, label, nodes, defaults) => fs.writeFileSync(path.join(__dirname, '..', 'flows', name), JSON.stringify([tab(id, label, INFO, nodes, defaults), ...withLinks(nodes)], null, 2) + '\n');

write('edge.json', 'tab-edge', 'split-dnn edge', [...edge('tab-edge', 0, 120), ...stats('tab-edge', 0, 380, 'edge', null), ...fleet('tab-edge', 0, 560, 'edge', 'gateway', false), model('tab-edge'), link('tab-edge')]);
write('cloud.json', 'tab-cloud', 'split-dnn cloud', [...cloud('tab-cloud', 0, 80), ...stats('tab-cloud', 0, 260, 'cloud', 'charts'), ...fleet('tab-cloud', 0, 640, 'cloud', 'tail', true),
  ...dashboardConfig(false), model('tab-cloud'), link('tab-cloud')], { SPLIT_DNN_GROUPS: 'tails' });
write('all-in-one.json', 'tab-demo', 'split-dnn demo', [...controlGroup('tab-demo', 0, 60), ...edge('tab-demo', 0, 280), ...cloud('tab-demo', 0, 520), ...stats('tab-demo', 0, 700, 'both', 'controls'),
  ...fleet('tab-demo', 0, 1140, 'edge', 'gateway', true), ...dashboardConfig(true), model('tab-demo'), link('tab-demo')]);
write('hardware.json', 'tab-hardware', 'split-dnn hardware', [...hardware('tab-hardware', 0, 100), model('tab-hardware'), link('tab-hardware')]);
