// A gateway SIGKILLed in the middle of a download: restarted, it resumes from the bytes in
// its staging folder (or fetches a damaged file again from zero) and ends on the new version.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from './support/paths';
import { makeVersion, newKey, modelIdOf, TestKey } from './support/ota-bundles';
import { startEmbeddedBroker, EmbeddedBroker } from '../lib/broker/embedded';
import { BundlePublisher, UpdateReport } from '../lib/ota/publisher';
import { loadBundle } from '../lib/model/bundle';
import { readState, stagingDir } from '../lib/ota/state';

let broker: EmbeddedBroker;
let key: TestKey;
let keyFile: string;
let v1: string;
const children = new Set<ChildProcess>();
process.once('exit', () => { for (const c of children) c.kill('SIGKILL'); });

interface Gateway { proc: ChildProcess; lines: Record<string, unknown>[]; wait(test: (l: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>> }

function startGateway(userDir: string): Promise<Gateway> {
  const proc = spawn(process.execPath, [path.join(__dirname, 'support', 'ota-gateway.js'), broker.url, userDir, v1, keyFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  let err = '';
  proc.stderr!.on('data', (d) => { err += d; });
  proc.stdout!.on('data', (d) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const p of parts) if (p.startsWith('{')) lines.push(JSON.parse(p));
  });
  const wait = (test: (l: Record<string, unknown>) => boolean, ms = 60_000) => new Promise<Record<string, unknown>>((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      const hit = lines.find(test);
      if (hit) return resolve(hit);
      if (Date.now() - started > ms || proc.exitCode !== null) return reject(new Error(`gateway: not seen; last lines ${JSON.stringify(lines.slice(-3))}\n${err.slice(-2000)}`));
      setTimeout(poll, 50);
    };
    poll();
  });
  const gw = { proc, lines, wait };
  return wait((l) => 'ready' in l).then(() => gw);
}

const report = (l: Record<string, unknown>) => l.report as UpdateReport | undefined;
const kill = (gw: Gateway) => new Promise<void>((resolve) => { gw.proc.once('exit', () => resolve()); gw.proc.kill('SIGKILL'); });
/** Bytes in a staging folder: finished files and the .part of the one in progress. */
const stagedBytes = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }) as string[] : [])
  .map((f) => fs.statSync(path.join(dir, f))).filter((st) => st.isFile()).reduce((n, st) => n + st.size, 0);

before(async () => {
  key = newKey();
  const keys = tempDir('keys');
  keyFile = path.join(keys, 'ota.pub');
  fs.writeFileSync(keyFile, key.publicPem);
  v1 = await makeVersion('1.0.0-resume', key);
  broker = await startEmbeddedBroker();
});
after(async () => { for (const c of children) c.kill('SIGKILL'); await broker.close(); });

async function killMidDownload(damage?: (staging: string) => void) {
  const userDir = tempDir('gw-kill');
  const v2 = await makeVersion(`2.0.0-resume-${damage ? 'damaged' : 'clean'}`, key);
  const id = modelIdOf(v2);
  // ~6 MB at 1.5 MB/s: a few seconds of download to kill into.
  const pub = await BundlePublisher.open({ settings: { url: broker.url, protocolVersion: 4 }, bundleDir: v2, gateways: ['gw-kill'], maxBytesPerSec: 1_500_000, chunkSize: 32 * 1024 });
  try {
    let gw = await startGateway(userDir);
    const mid = await gw.wait((l) => report(l)?.modelId === id && report(l)!.state === 'downloading' && (report(l)!.progress as { bytes: number }).bytes > 1_000_000);
    await kill(gw);
    const staging = stagingDir(path.join(userDir, 'ota'), 'gw-kill', id);
    const onDisk = stagedBytes(staging);
    assert.ok(onDisk > 0, 'the killed download left its bytes in staging');
    damage?.(staging);
    gw = await startGateway(userDir);
    const first = report(await gw.wait((l) => report(l)?.modelId === id && report(l)!.state === 'downloading'))!;
    const done = report(await gw.wait((l) => report(l)?.modelId === id && ['committed', 'refused', 'rolled-back'].includes(report(l)!.state)))!;
    assert.equal(done.state, 'committed', JSON.stringify(done));
    const resumedFrom = (first.progress as { resumedFrom: number }).resumedFrom;
    const final = gw.lines.map(report).filter((r) => r?.modelId === id && r.state === 'downloading').pop()!.progress as { restartedFiles: number; bytes: number; total: number };
    // The new version is installed, verified on disk, and what the next boot runs.
    const state = readState(path.join(userDir, 'ota'));
    const active = Object.values(state.slots)[0].active!;
    assert.equal(active.modelId, id);
    assert.equal((await loadBundle(active.dir)).modelId, id);
    assert.equal(fs.existsSync(staging), false, 'staging is cleaned up');
    await kill(gw);
    return { killedAt: (mid.report as UpdateReport & { progress: { bytes: number } }).progress.bytes, onDisk, resumedFrom, restartedFiles: final.restartedFiles, total: final.total };
  } finally {
    await pub.withdraw();
    await pub.close();
  }
}

test('SIGKILL during the download: the restarted gateway resumes from its staging folder and commits', async () => {
  const r = await killMidDownload();
  console.log(JSON.stringify(r));
  assert.ok(r.resumedFrom > 0, 'the second run started from the bytes already on disk');
  assert.ok(r.resumedFrom <= r.onDisk, 'resumed from no more than what was on disk');
  assert.equal(r.restartedFiles, 0);
});

test('a file damaged while the gateway was down is fetched again from zero, and the update still commits', async () => {
  const r = await killMidDownload((staging) => {
    const parts = (fs.readdirSync(staging, { recursive: true }) as string[]).filter((f) => f.endsWith('.part'));
    assert.ok(parts.length > 0);
    const file = path.join(staging, parts[0]);
    const bytes = fs.readFileSync(file);
    bytes[0] ^= 0xff;
    fs.writeFileSync(file, bytes);
  });
  console.log(JSON.stringify(r));
  assert.ok(r.restartedFiles >= 1, 'the damaged file failed its sha256 and was fetched again');
});
