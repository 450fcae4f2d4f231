import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogThrottle } from '../nodes/common/node-kit';

test('refusal logs: a few lines per gateway and reason every window, then how many were held back', () => {
  const t = new LogThrottle(10_000, 3);
  const lines = Array.from({ length: 100 }, (_, i) => t.line('forged/evil', `line ${i}`, 1000 + i));
  assert.deepEqual(lines.filter(Boolean), ['line 0', 'line 1', 'line 2']);
  assert.equal(t.line('malformed/evil', 'other reason', 1200), 'other reason', 'each key has its own budget');
  assert.equal(t.line('forged/evil', 'later', 11_000), 'later (and 97 more like it before this)');
});
