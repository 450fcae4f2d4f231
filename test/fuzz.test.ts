import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { CodecError, buildCoderTables, decodeSymbols } from '../lib/codec';
import { FrameInput, WireError, decodeBatch, decodeFrame, encodeFrame } from '../lib/wire';
import { FuzzFailure, REGRESSIONS_FILE, VECTOR_DIR, loadCorpus, prng, runFuzz } from '../bench/fuzz';
import { FUZZ_MAX_GATEWAYS, runLinkFuzz } from '../bench/fuzz-link';

test('fuzz: 100,000 mutated frames and streams raise only typed errors', () => {
  const report = runFuzz({ count: 100_000, seed: 20261123 });
  const { inputs, typedErrors, accepted, uncaught, seconds, slowestRetimedMs } = report;
  const summary = { inputs, typedErrors, accepted, uncaught, seconds: seconds.toFixed(1), slowestRetimedMs: slowestRetimedMs.toFixed(1) };
  console.log(`# fuzz ${JSON.stringify(summary)}`);
  assert.equal(report.uncaught, 0, JSON.stringify(report.failures.slice(0, 3)));
  assert.equal(report.invariantViolations, 0, JSON.stringify(report.failures.slice(0, 3)));
  assert.equal(report.inputs, 100_000);
  assert.ok(report.accepted > 1000 && report.typedErrors > 50_000, 'the mutations reach both the accept and the reject paths');
  // No input may cost much more than the largest legitimate one: a stream of maxSymbols
  // symbols. The slowest input is timed again, so a GC pause or a busy machine does not count.
  const demo = buildCoderTables(JSON.parse(fs.readFileSync(`${VECTOR_DIR}/codec.json`, 'utf8')).tableSets.demo);
  let capDecodeMs = Infinity;
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    decodeSymbols(new Uint8Array(0), [2, 1 << 19], demo, { min: -32, max: 31 });
    capDecodeMs = Math.min(capDecodeMs, performance.now() - t0);
  }
  assert.ok(report.slowestRetimedMs < 3 * capDecodeMs + 20, `an input takes ${report.slowestRetimedMs} ms, a full-size stream ${capDecodeMs} ms`);
});

test('integrity: 10,000 single-bit flips and 1,000 truncations of valid frames are all rejected', () => {
  const rnd = prng(99);
  const frames: Uint8Array[] = loadCorpus().frames.flatMap((bytes) => {
    try {
      decodeFrame(bytes);
      return [Buffer.from(bytes)];
    } catch {
      return [];
    }
  });
  const base = decodeFrame(frames[0]);
  const big: FrameInput = { ...base, shape: [8, 16, 16], payload: Uint8Array.from({ length: 2000 }, (_, i) => (i * 37) & 0xff) };
  frames.push(encodeFrame(big));
  const rejected = (bytes: Uint8Array) => {
    try {
      decodeFrame(bytes);
      return false;
    } catch (e) {
      assert.ok(e instanceof WireError);
      return true;
    }
  };
  for (let i = 0; i < 10_000; i++) {
    const f = Buffer.from(frames[i % frames.length]);
    f[Math.floor(rnd() * f.length)] ^= 1 << Math.floor(rnd() * 8);
    assert.ok(rejected(f), `bit flip ${i} accepted`);
  }
  for (let i = 0; i < 1_000; i++) {
    const f = frames[i % frames.length];
    assert.ok(rejected(f.subarray(0, Math.floor(rnd() * f.length))), `truncation ${i} accepted`);
  }
});

test('every input that ever failed the fuzzer is replayed', () => {
  const doc: { cases: FuzzFailure[] } = JSON.parse(fs.readFileSync(REGRESSIONS_FILE, 'utf8'));
  const codec = JSON.parse(fs.readFileSync(`${VECTOR_DIR}/codec.json`, 'utf8'));
  for (const c of doc.cases) {
    const bytes = Buffer.from(c.hex, 'hex');
    try {
      if (c.target === 'frame') decodeFrame(bytes);
      else if (c.target === 'batch') decodeBatch(bytes).forEach((f) => decodeFrame(f));
      else decodeSymbols(bytes, c.shape!, buildCoderTables(codec.tableSets[c.tables!]), c.clamp!);
    } catch (e) {
      assert.ok(e instanceof WireError || e instanceof CodecError, `${c.hex}: ${String(e)}`);
    }
  }
});

test('fuzz a running link: hostile valid frames are each counted once as what they are; the honest gateway gets exactly its own answers; state and the event loop stay bounded', async () => {
  const r = await runLinkFuzz({ messages: 3000, seed: 20261202 });
  console.log(`# link fuzz ${JSON.stringify({ ...r, violations: r.violations.length })}`);
  assert.deepEqual(r.violations, []);
  assert.ok(r.expected.forged > 100 && r.expected.malformed > 5 && r.expected.valid > 1000 && r.honest.rogueAnswers > 100 && r.honest.sent > 100,
    `every path is reached: ${JSON.stringify({ expected: r.expected, honest: r.honest })}`);
  assert.ok(r.gatewaysKept <= FUZZ_MAX_GATEWAYS);
  assert.ok(r.lagMaxMs < 1000, `event loop lag max ${r.lagMaxMs} ms`);
});
