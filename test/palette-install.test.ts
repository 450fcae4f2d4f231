// A palette install as a new user meets it, with no network at all: `npm pack`, then a stock
// Node-RED on a fresh user dir, inside a network namespace that has only loopback, installs
// the tarball through the palette manager (its own npm and arguments) with the user dir's
// .npmrc that the README gives (offline from npm's cache; onnxruntime-node's CUDA download
// skipped), loads every node type and deploys every example it ships.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO, tempDir } from './support/paths';
import { packTarball } from './support/pack';

const PKG = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
// What the README tells a user to put in ~/.node-red/.npmrc on a machine without internet.
export const OFFLINE_NPMRC = 'offline=true\nonnxruntime-node-install=skip\n';

test('palette install offline: the packed package installs, loads every node and deploys every example', { timeout: 300_000 }, () => {
  const dir = tempDir('palette');
  const tarball = packTarball(dir);
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(npm_|ONNXRUNTIME_NODE_INSTALL)/i.test(k)) delete env[k]; // only the user dir's .npmrc counts
  // The README's step on a connected machine: one install fills npm's cache with every
  // package the tarball needs (CI's cache has the tarballs from npm ci; this adds the metadata).
  execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--silent', '--prefix', path.join(dir, 'prep'), tarball], { cwd: dir, env, stdio: 'ignore' });
  const userDir = path.join(dir, 'user');
  fs.mkdirSync(userDir);
  fs.writeFileSync(path.join(userDir, '.npmrc'), OFFLINE_NPMRC);
  const out = execFileSync('unshare', ['-rn', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, path.join(__dirname, 'support', 'palette-driver.js'), tarball, userDir],
    { cwd: dir, env, encoding: 'utf8', timeout: 280_000, maxBuffer: 1 << 24 });
  const report = JSON.parse(out.trim().split('\n').pop()!);
  console.log(JSON.stringify({ examples: report.examples, install: { ...report.install, body: undefined }, installedMB: Math.round(report.installedBytes / 1e6), tarballMB: +(fs.statSync(tarball).size / 1e6).toFixed(1) }));

  assert.equal(report.error, undefined);
  assert.equal(report.install.status, 200, report.install.body);
  const types = report.sets.flatMap((s: { types: string[] }) => s.types).sort();
  assert.deepEqual(types, Object.keys(PKG['node-red'].nodes).sort(), 'every node type registered');
  for (const s of report.sets) assert.ok(s.enabled && !s.err, `${s.types} enabled: ${s.err ?? ''}`);
  // No network: the link waits for a broker and the board for its port, as their statuses say;
  // nothing else may complain.
  const shipped = fs.readdirSync(path.join(REPO, 'flows')).filter((f) => f.endsWith('.json')).sort();
  assert.deepEqual(Object.keys(report.examples), shipped, 'the installed package holds every example');
  for (const [file, r] of Object.entries(report.examples as Record<string, { status: number; log: string[] }>)) {
    assert.equal(r.status, 204, `${file} deployed`);
    const unexpected = r.log.filter((l) => !/ECONNREFUSED|connect ECONN|No such file or directory, cannot open \/dev\/tty/.test(l));
    assert.deepEqual(unexpected, [], `${file}: no errors or warnings but the missing broker and board`);
  }
  assert.equal(report.exit, 0, 'Node-RED stopped cleanly');
});
