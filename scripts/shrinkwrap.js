#!/usr/bin/env node
// `npm pack` (prepack) writes npm-shrinkwrap.json from package-lock.json without the dev
// tree, and removes it again afterwards (postpack, `--remove`). npm honours a package's
// shrinkwrap when it is installed as a dependency, as the palette manager does: the user gets
// the tree CI tested (with `overrides` applied, so no serialport 8 under johnny-five), and
// since every version is pinned npm needs only tarballs, which an offline cache can hold.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'npm-shrinkwrap.json');
if (process.argv.includes('--remove')) {
  fs.rmSync(out, { force: true });
} else {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const packages = Object.fromEntries(Object.entries(lock.packages).filter(([key, p]) => key === '' || !p.dev));
  const { devDependencies, ...top } = packages[''];
  fs.writeFileSync(out, JSON.stringify({ ...lock, packages: { ...packages, '': top } }, null, 2) + '\n');
}
