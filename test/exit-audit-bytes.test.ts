// The exits bench's uplink model (bench/audit-bytes.ts): an audit copy that rides in a
// message going anyway costs its frame bytes; one that goes alone costs a whole message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UplinkModel, auditExtraUplink, LOW_RATE } from '../bench/audit-bytes';
import { seeded } from '../bench/shifts';

// Coded symbols look random: they do not deflate.
const rnd = seeded(1);
const payload = Uint8Array.from({ length: 22 }, () => Math.floor(rnd() * 256));

const model = new UplinkModel({ ...LOW_RATE, keepaliveS: 1e9 }, { modelId: '0123456789abcdef', rateLevel: 3, shape: [1, 24], payload });

test('an audit copy riding with a forwarded frame costs about its frame, one alone a whole message', () => {
  const forward = [{ frame: 0, audit: false }];
  const alone = model.bytes(forward, 100);
  assert.ok(alone > 104 + 22, `one frame's message ${alone} B: two TCP/IP headers (frame up, ACK of its answer) and the frame`);
  // 5 frames (500 ms) later at 10 frames/s: inside the 1 s coalescing budget.
  const riding = auditExtraUplink(model, [...forward, { frame: 5, audit: true }], 100);
  // 15 frames later: the message has left, the audit goes on its own.
  const lonely = auditExtraUplink(model, [...forward, { frame: 15, audit: true }], 100);
  assert.equal(riding.withoutAudit, alone);
  assert.ok(riding.withAudit - alone >= 22 && riding.withAudit - alone < 45, `riding audit adds ${riding.withAudit - alone} B`);
  // (a byte or two apart: a later frame's sequence number and time delta take longer varints)
  assert.ok(Math.abs(lonely.withAudit - 2 * alone) <= 2, `an audit alone adds ${lonely.withAudit - alone} B, a forwarded frame alone ${alone} B`);
  assert.ok(lonely.extra > 3 * riding.extra);
});

test('keepalive pings count in the uplink with or without frames', () => {
  const pinged = new UplinkModel(LOW_RATE, { modelId: '0123456789abcdef', rateLevel: 0, shape: [1, 4], payload: new Uint8Array(5) });
  assert.equal(pinged.bytes([], 600), 2 * (2 + 2 * 52), '60 s at 10 frames/s: two pings and the ACKs of their answers');
});
