// Shared pieces of the shipped flows: tab-level environment variables with defaults, groups
// sized around their nodes, and link nodes that carry figures to split-stats without wires
// across the tab.
'use strict';

// Each field that reads ${SPLIT_DNN_X} gets it from the tab: the process environment when it
// is set there (what `split-dnn start --broker …` does), else a default that works as imported.
const DEFAULTS = {
  SPLIT_DNN_BUNDLE: 'models/fmnist-cnn',
  SPLIT_DNN_BROKER: 'mqtt://127.0.0.1:1883',
  SPLIT_DNN_MQTT_VERSION: '4',
  SPLIT_DNN_GATEWAY: 'gateway-1',
  SPLIT_DNN_CA_FILE: '',
  SPLIT_DNN_FPS: '10',
  SPLIT_DNN_COALESCE_MS: '1000',
  SPLIT_DNN_GROUPS: '',
  SPLIT_DNN_SERIAL_PORT: '/dev/ttyACM0',
  SPLIT_DNN_CAMERA: '/dev/video0',
};
// `$parent.` skips the tab's own variable, so the expression reads the process environment.
const fromEnvOr = (name, value) => `$env("$parent.${name}") ? $env("$parent.${name}") : ${JSON.stringify(value)}`;

/** A tab whose env lists every SPLIT_DNN_* variable its nodes use, with its default. */
function tab(id, label, info, nodes, defaults = {}) {
  const used = new Set(JSON.stringify(nodes).match(/\$\{SPLIT_DNN_\w+\}/g)?.map((v) => v.slice(2, -1)));
  const env = Object.entries({ ...DEFAULTS, ...defaults }).filter(([name]) => used.has(name)).map(([name, value]) => ({ name, value: fromEnvOr(name, value), type: 'jsonata' }));
  return { id, type: 'tab', label, disabled: false, info, env };
}

// The editor's node width: the label at ~7 px a character plus icon and port room, in 20 px
// steps, at least 100 (Node-RED's view.js does the same with the measured text).
const LABELS = { 'link in': '', 'link out': '', catch: 'catch', debug: 'debug' };
function width(n) {
  if (n.type === 'link in' || n.type === 'link out') return 30;
  const label = n.name || n.label || LABELS[n.type] || n.type;
  return Math.max(100, 20 * Math.ceil((label.length * 7 + 57) / 20));
}
function height(n) {
  const ports = Array.isArray(n.wires) ? n.wires.length : 0;
  return Math.max(30, ports * 15);
}

/** A group around `nodes` (which get `g`), with room for its label above them. */
function group(id, z, name, nodes, info = '') {
  const pad = 20;
  const left = Math.min(...nodes.map((n) => n.x - width(n) / 2)) - pad;
  const top = Math.min(...nodes.map((n) => n.y - height(n) / 2)) - pad - 20;
  const right = Math.max(...nodes.map((n) => n.x + width(n) / 2)) + pad;
  const bottom = Math.max(...nodes.map((n) => n.y + height(n) / 2)) + pad;
  for (const n of nodes) n.g = id;
  return [{ id, type: 'group', z, name, info, style: { label: true, 'label-position': 'nw' }, nodes: nodes.map((n) => n.id), x: left, y: top, w: right - left, h: bottom - top }, ...nodes];
}

/** A link out named `name` at (x, y) that sends to the link in `to`. */
const linkOut = (id, z, name, to, x, y) => ({ id, type: 'link out', z, name, mode: 'link', links: [to], x, y, wires: [] });
const linkIn = (id, z, name, from, x, y, wires) => ({ id, type: 'link in', z, name, links: from, x, y, wires: [wires] });

module.exports = { tab, group, linkOut, linkIn, width, height, DEFAULTS };
