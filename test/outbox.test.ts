import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Outbox } from '../lib/link/outbox';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'outbox-'));
const frame = (i: number) => Buffer.from(`frame-${i}-${'x'.repeat(i % 7)}`);

test('frames survive a reopen until acked, in order', () => {
  const dir = tmp();
  const a = new Outbox({ dir });
  for (let i = 0; i < 100; i++) a.put(`g/1/${i}`, frame(i));
  for (let i = 0; i < 100; i += 2) assert.equal(a.ack(`g/1/${i}`), true);
  assert.equal(a.ack('g/1/0'), false, 'a second ack is reported as not pending');
  a.close();
  const b = new Outbox({ dir });
  assert.equal(b.size, 50);
  assert.deepEqual([...b.entries()].map(([k]) => k), Array.from({ length: 50 }, (_, i) => `g/1/${2 * i + 1}`));
  assert.deepEqual(b.get('g/1/7'), frame(7));
  assert.equal(b.recoveredTornBytes, 0);
  b.close();
});

test('a torn tail (kill mid-write) is cut off and every complete record kept', () => {
  const dir = tmp();
  const a = new Outbox({ dir });
  for (let i = 0; i < 10; i++) a.put(`g/1/${i}`, frame(i));
  a.close();
  const file = path.join(dir, 'outbox.log');
  const whole = fs.readFileSync(file);
  // Every cut inside the last record loses only that record, never an earlier one.
  const lastLen = whole.readUInt32LE(whole.length - (4 + 1 + 1 + 5 + 4 + frame(9).length + 4));
  assert.equal(lastLen, 4 + 1 + 1 + 5 + 4 + frame(9).length + 4);
  for (let cut = 1; cut < lastLen; cut++) {
    fs.writeFileSync(file, whole.subarray(0, whole.length - cut));
    const b = new Outbox({ dir });
    assert.equal(b.size, 9, `cut ${cut}`);
    assert.ok(b.recoveredTornBytes > 0);
    assert.ok(!b.has('g/1/9'));
    b.close();
    fs.writeFileSync(file, whole);
  }
  // Garbage after valid records (a torn write of random bytes) is skipped too.
  fs.writeFileSync(file, Buffer.concat([whole, Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 2, 3])]));
  const c = new Outbox({ dir });
  assert.equal(c.size, 10);
  assert.equal(c.recoveredTornBytes, 7);
  c.close();
});

test('a flipped bit in a record stops replay there instead of trusting it', () => {
  const dir = tmp();
  const a = new Outbox({ dir });
  for (let i = 0; i < 4; i++) a.put(`g/1/${i}`, frame(i));
  a.close();
  const file = path.join(dir, 'outbox.log');
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 10] ^= 0x10;
  fs.writeFileSync(file, bytes);
  const b = new Outbox({ dir });
  assert.equal(b.size, 3);
  b.close();
});

test('the cap drops the oldest frames and counts them', () => {
  const a = new Outbox({ maxFrames: 5 });
  let evicted = 0;
  for (let i = 0; i < 8; i++) evicted += a.put(`g/1/${i}`, frame(i));
  assert.equal(evicted, 3);
  assert.equal(a.dropped, 3);
  assert.deepEqual([...a.entries()].map(([k]) => k), ['g/1/3', 'g/1/4', 'g/1/5', 'g/1/6', 'g/1/7']);
  assert.equal(a.durable, false);
});

test('the log is compacted as acks pile up, and compaction loses nothing', () => {
  const dir = tmp();
  const a = new Outbox({ dir, syncMs: 1000 });
  const big = Buffer.alloc(2000, 7);
  for (let i = 0; i < 5000; i++) {
    a.put(`g/1/${i}`, big);
    if (i >= 3) a.ack(`g/1/${i - 3}`);
  }
  a.close();
  assert.ok(fs.statSync(path.join(dir, 'outbox.log')).size < 5 * 1024 * 1024, 'compacted below the 4 MiB trigger');
  const b = new Outbox({ dir });
  assert.deepEqual([...b.entries()].map(([k]) => k), ['g/1/4997', 'g/1/4998', 'g/1/4999']);
  b.close();
});
