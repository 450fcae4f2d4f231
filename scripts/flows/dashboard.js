// Dashboard 2.0 for the shipped flows: config nodes (base, theme, page, groups) and the
// widgets split-stats feeds, in the order of its outputs so their wires do not cross.
'use strict';

const dashboardConfig = (controls) => [
  { id: 'ui-base-split', type: 'ui-base', name: 'split-dnn', path: '/dashboard', appIcon: '', includeClientData: true, acceptsClientConfig: ['ui-notification', 'ui-control'], showPathInSidebar: false, headerContent: 'page', navigationStyle: 'default', titleBarStyle: 'default', showReconnectNotification: true, notificationDisplayTime: 1, showDisconnectNotification: true, allowInstall: false },
  { id: 'ui-theme-split', type: 'ui-theme', name: 'split-dnn', colors: { surface: '#1f4e5a', primary: '#3fadb5', bgPage: '#f4f6f8', groupBg: '#ffffff', groupOutline: '#d9d9e0' }, sizes: { density: 'compact', pagePadding: '12px', groupGap: '12px', groupBorderRadius: '4px', widgetGap: '8px' } },
  { id: 'ui-page-fleet', type: 'ui-page', name: 'Fleet', ui: 'ui-base-split', path: '/fleet', icon: 'chart-line', layout: 'grid', theme: 'ui-theme-split', breakpoints: [{ name: 'Default', px: 0, cols: 3 }, { name: 'Tablet', px: 576, cols: 6 }, { name: 'Small Desktop', px: 768, cols: 9 }, { name: 'Desktop', px: 1024, cols: 12 }], order: 1, className: '', visible: 'true', disabled: 'false' },
  ...[['fleet', 'Gateways', 12], ...(controls ? [['controls', 'Controls (this gateway)', 12]] : []), ['traffic', 'Traffic', 4], ['quality', 'Exits and accuracy', 4], ['link', 'Latency and link', 4]]
    .map(([id, name, w], i) => ({ id: `ui-group-${id}`, type: 'ui-group', name, page: 'ui-page-fleet', width: String(w), height: '1', order: i + 1, showTitle: true, className: '', visible: 'true', disabled: 'false', groupType: 'default' })),
];

const widget = (z, id, type, group, order, x, y, props) => ({ id, type, z, group: `ui-group-${group}`, name: '', order, width: 0, height: 0, className: '', x, y, wires: [[]], ...props });
// Every figure is a count, a size or a time: the axis starts at 0 (autoscaling drew 9–10.2
// frames/s as a cliff); percentages run 0–100.
const chart = (z, [id, group, name, label, yAxisLabel, ymax], order, x, y) => widget(z, id, 'ui-chart', group, order, x, y, {
  name, label, chartType: 'line', category: 'topic', categoryType: 'msg', xAxisLabel: '', xAxisProperty: '', xAxisPropertyType: 'timestamp', xAxisType: 'time', xAxisFormat: '', xAxisFormatType: 'auto',
  xmin: '', xmax: '', yAxisLabel, yAxisProperty: 'payload', yAxisPropertyType: 'msg', ymin: '0', ymax: ymax ?? '', bins: 10, action: 'append', stackSeries: false, pointShape: 'false', pointRadius: 4, showLegend: true,
  removeOlder: 10, removeOlderUnit: '60', removeOlderPoints: '', colors: ['#0095FF', '#FF0000', '#FF7F0E', '#2CA02C', '#A347E1', '#D62728', '#FF9896', '#9467BD', '#C5B0D5'],
  textColor: ['#666666'], textColorDefault: true, gridColor: ['#e5e5e5'], gridColorDefault: true, width: 4, height: 4, interpolation: 'linear',
});
const CHARTS = [
  ['chart-fps', 'traffic', 'frames/s', 'Frames per second', 'frames/s'],
  ['chart-exit', 'quality', 'exit %', 'Exit ratio (%)', '%', '100'],
  ['chart-bytes', 'traffic', 'bytes/frame', 'Bytes per transmitted frame', 'bytes'],
  ['chart-latency', 'link', 'latency ms', 'Latency, capture to answer (ms)', 'ms'],
  ['chart-accuracy', 'quality', 'accuracy %', 'Accuracy where labels are known (%)', '%', '100'],
  ['chart-outbox', 'link', 'outbox', 'Outbox depth (frames)', 'frames'],
];

// split-stats output 10: an early-exit-gate in promise mode charts its audited disagreement,
// the bound it acts on and epsilon (nothing shows while the gate runs a plain threshold).
const AUDIT_CHART = ['chart-audit', 'quality', 'exit audit %', 'Exit audit: disagreement, bound and epsilon (%)', 'disagreement %']; // a few %: not stretched to 100

/** Widgets in a column at x from y on, one row per split-stats output (7 feeds two). */
const widgets = (z, x, y) => [
  ...CHARTS.map((c, i) => chart(z, c, i + 1, x, y + 40 * i)),
  chart(z, AUDIT_CHART, CHARTS.length + 1, x, y + 320),
  // Below 768 px the table turns each gateway into a card listing every column ('md'; the
  // widget knows xs, md and lg), so a phone shows the row instead of 3 of its 14 columns.
  widget(z, 'fleet-table', 'ui-table', 'fleet', 2, x, y + 240, { name: 'fleet table', label: '', width: 12, maxrows: 0, passthru: false, autocols: true, showSearch: false, deselect: true, selectionType: 'none', columns: [], mobileBreakpoint: 'md', mobileBreakpointType: 'defaults', action: 'replace' }),
  widget(z, 'fleet-text', 'ui-text', 'fleet', 1, x, y + 280, { name: 'fleet line', label: '', width: 12, format: '{{msg.payload}}', layout: 'row-left', style: false, font: '', fontSize: 16, color: '#717171', wrapText: false, value: 'fleet', valueType: 'msg', wires: [] }),
];
const widgetOutputs = () => [...CHARTS.map(([id]) => [id]), ['fleet-table', 'fleet-text']];

/**
 * The threshold slider and the rate dropdown, each through a change node into the edge flow.
 * The slider sends on every change ('all'), so keyboard steps apply too (with 'end' only a
 * drag's release did), and its thumb label always shows the value.
 */
const controls = (z, x, y, gate, encode, thresholdIn, rateIn) => [
  widget(z, 'control-threshold', 'ui-slider', 'controls', 1, x, y + 60, { name: 'threshold', label: 'Exit threshold', tooltip: 'Lower: more answers at the edge', width: 6, height: 1, passthru: false, outs: 'all', topic: 'threshold', topicType: 'str', thumbLabel: 'always', showTicks: 'false', min: 0, max: 1, step: 0.01, iconPrepend: '', iconAppend: '', color: '', colorTrack: '', colorThumb: '', showTextField: true, wires: [['set-threshold']] }),
  widget(z, 'control-rate', 'ui-dropdown', 'controls', 2, x, y, { name: 'rate level', label: 'Rate level', tooltip: '', width: 6, height: 1, passthru: false, multiple: false, chips: false, clearable: false, options: [{ label: 'auto (follows the link)', value: 'auto', type: 'str' }], payload: '', topic: 'rate', topicType: 'str', typeIsComboBox: false, msgTrigger: 'onChange', wires: [['set-rate']] }),
  { id: 'set-threshold', type: 'change', z, name: 'msg.threshold', rules: [{ t: 'set', p: 'threshold', pt: 'msg', to: 'payload', tot: 'msg' }], action: '', property: '', from: '', to: '', reg: false, x: x + 200, y: y + 60, wires: [[gate]] },
  { id: 'set-rate', type: 'change', z, name: 'msg.rate', rules: [{ t: 'set', p: 'rate', pt: 'msg', to: 'payload', tot: 'msg' }], action: '', property: '', from: '', to: '', reg: false, x: x + 320, y, wires: [[encode]] },
  thresholdIn(x - 120, y + 60, ['control-threshold']),
  rateIn(x - 120, y, ['control-rate']),
];

module.exports = { dashboardConfig, widgets, widgetOutputs, controls, CHARTS, AUDIT_CHART };
