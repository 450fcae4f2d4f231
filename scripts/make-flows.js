#!/usr/bin/env node
// Writes flows/edge.json, cloud.json and all-in-one.json from one description, so the
// three flows cannot drift apart. Run it after changing a node's defaults here.
'use strict';
const fs = require('fs');
const path = require('path');
const model = { id: 'cfg-model', type: 'split-model', name: 'bundle', bundle: '${SPLIT_DNN_BUNDLE}', workers: '' };
const link = (id) => ({ id, type: 'split-link', name: 'broker', broker: '${SPLIT_DNN_BROKER}', protocol: '${SPLIT_DNN_MQTT_VERSION}', clientId: '', gateway: '${SPLIT_DNN_GATEWAY}', group: 'tails', verifyServer: true, caFile: '${SPLIT_DNN_CA_FILE}', certFile: '', keyFile: '', outboxDir: 'outbox', outboxMaxFrames: '100000', window: '256', resendAfter: '10' });
const edgeNodes = (z, x0, y0) => [
  { id: 'edge-comment', type: 'comment', z, name: 'Edge: camera → head → early exit → bottleneck → MQTT', info: 'Confident frames are answered at the edge (top); the rest are compressed and sent to the cloud, whose answers come back out of mqtt-transmit.', x: x0 + 250, y: y0, wires: [] },
  { id: 'edge-camera', type: 'sample-source', z, name: 'sample camera', model: 'cfg-model', fps: '${SPLIT_DNN_FPS}', limit: '0', autostart: true, x: x0 + 100, y: y0 + 60, wires: [['edge-head']] },
  { id: 'edge-head', type: 'split-head', z, name: '', model: 'cfg-model', x: x0 + 280, y: y0 + 60, wires: [['edge-gate']] },
  { id: 'edge-gate', type: 'early-exit-gate', z, name: '', model: 'cfg-model', mode: 'threshold', threshold: '', targetAccuracy: '0.93', x: x0 + 460, y: y0 + 60, wires: [['edge-results'], ['edge-encode']] },
  { id: 'edge-encode', type: 'bottleneck-encode', z, name: '', model: 'cfg-model', rate: 'auto', gateway: '', link: 'cfg-link', targetMs: '250', x: x0 + 660, y: y0 + 100, wires: [['edge-transmit']] },
  { id: 'edge-transmit', type: 'mqtt-transmit', z, name: 'to cloud', link: 'cfg-link', role: 'edge', x: x0 + 860, y: y0 + 100, wires: [['edge-results']] },
  { id: 'edge-results', type: 'debug', z, name: 'results (edge + cloud)', active: false, tosidebar: true, console: false, tostatus: true, complete: 'payload', targetType: 'msg', statusVal: 'payload.label', statusType: 'msg', x: x0 + 1080, y: y0 + 60, wires: [] },
];
const cloudNodes = (z, x0, y0) => [
  { id: 'cloud-comment', type: 'comment', z, name: 'Cloud: frames from every gateway → tail → answers back', info: 'Run several cloud runtimes against an MQTT 5 broker: the shared subscription gives each frame to exactly one of them.', x: x0 + 250, y: y0, wires: [] },
  { id: 'cloud-transmit', type: 'mqtt-transmit', z, name: 'from gateways', link: 'cfg-link', role: 'cloud', x: x0 + 140, y: y0 + 60, wires: [['cloud-tail']] },
  { id: 'cloud-tail', type: 'tail-infer', z, name: '', model: 'cfg-model', x: x0 + 360, y: y0 + 60, wires: [['cloud-transmit', 'cloud-results']] },
  { id: 'cloud-results', type: 'debug', z, name: 'cloud results', active: false, tosidebar: true, console: false, tostatus: false, complete: 'result', targetType: 'msg', x: x0 + 580, y: y0 + 100, wires: [] },
];
const tab = (id, label) => ({ id, type: 'tab', label, disabled: false, info: '' });
const write = (name, nodes) => fs.writeFileSync(path.join(__dirname, '..', 'flows', name), JSON.stringify(nodes, null, 2) + '\n');
write('edge.json', [tab('tab-edge', 'split-dnn edge'), ...edgeNodes('tab-edge', 0, 40), model, link('cfg-link')]);
write('cloud.json', [tab('tab-cloud', 'split-dnn cloud'), ...cloudNodes('tab-cloud', 0, 40), model, link('cfg-link')]);
write('all-in-one.json', [tab('tab-demo', 'split-dnn demo'), ...edgeNodes('tab-demo', 0, 40), ...cloudNodes('tab-demo', 0, 240), model, link('cfg-link')]);
