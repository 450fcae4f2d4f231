#!/usr/bin/env node
// tsc only emits .js: Node-RED finds a node's editor file, icons and locales beside its
// runtime file, so copy everything that is not TypeScript from nodes/ into dist/nodes/
// (and from lib/, where the ONNX splitter reads its vendored onnx.proto).
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');

function copyTree(from, to) {
  if (!fs.existsSync(from)) return;
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) copyTree(src, dst);
    else if (!entry.name.endsWith('.ts')) {
      fs.mkdirSync(to, { recursive: true });
      fs.copyFileSync(src, dst);
    }
  }
}

copyTree(path.join(root, 'nodes'), path.join(root, 'dist', 'nodes'));
copyTree(path.join(root, 'lib'), path.join(root, 'dist', 'lib'));

// Node-RED lists a module's examples/ under Import > Examples; the flows live in flows/.
const examples = path.join(root, 'examples');
fs.mkdirSync(examples, { recursive: true });
for (const name of fs.readdirSync(path.join(root, 'flows'))) {
  if (name.endsWith('.json')) fs.copyFileSync(path.join(root, 'flows', name), path.join(examples, name));
}

// Node-RED serves a module's resources/ at /resources/<module>/: the nodes' help links to
// the docs there, so they open from the editor on a machine with no internet.
copyTree(path.join(root, 'docs'), path.join(root, 'resources', 'docs'));
