// Faults on a real broker with real processes: mosquitto, two tails in the shared group and
// a gateway, each a `split-dnn start` process. Every frame must come back to the gateway's
// mqtt-transmit exactly once whatever dies. Sized for CI; `npm run bench -- faults` runs
// the same scenarios full size.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFleet, Fleet, FaultReport, brokerKill, brokerDown, linkBlackhole, tailKill, gatewayKill } from './support/faults';

const FRAMES = Number(process.env.SPLIT_DNN_FAULT_FRAMES ?? 300);
// Shorter than the 10 s default so a run stays quick: after a broker restart, frames that
// reach it before any tail has resubscribed are dropped by it and wait for this resend.
const RESEND_AFTER = 3;
const BACKLOG = Number(process.env.SPLIT_DNN_FAULT_BACKLOG ?? 2000);

let fleet: Fleet;
before(async () => { fleet = await startFleet(2); });
after(async () => { await fleet?.stop(); });

function nothingLostOrDoubled(r: FaultReport): void {
  console.log(JSON.stringify(r));
  assert.equal(r.lost, 0, `${r.lost} of ${r.expected} frames never answered`);
  assert.equal(r.duplicates, 0, `${r.duplicates} duplicate results at the gateway`);
  assert.equal(r.unexpected, 0);
  assert.equal(r.delivered, r.expected);
}

test(`broker SIGKILL mid-stream: ${FRAMES} frames, 0 lost, 0 duplicate results`, async () => {
  nothingLostOrDoubled(await brokerKill(fleet, { frames: FRAMES, fps: 100, resendAfter: RESEND_AFTER }));
});

test(`broker stopped for 3 s while frames keep coming: ${FRAMES} frames, 0 lost`, async () => {
  nothingLostOrDoubled(await brokerDown(fleet, { frames: FRAMES, fps: 100, downMs: 3000, resendAfter: RESEND_AFTER }));
});

test(`link silent (no FIN) for 4 s: the keepalive notices, ${FRAMES} frames, 0 lost`, async () => {
  const r = await linkBlackhole(fleet, { frames: FRAMES, fps: 100, downMs: 4000, keepalive: 1 });
  nothingLostOrDoubled(r);
  assert.equal(r.edgeNoticed, true, 'the gateway took the silent link for dead and reconnected');
  // r.cloudSawWill (the broker timing the gateway out and publishing its will) depends on
  // mosquitto's keepalive check, which took 2 to over 4 s here for a 1 s keepalive: reported, not asserted.
});

test(`one tail SIGKILLed mid-stream: ${FRAMES} frames, 0 lost (resend timeout recovers what it held)`, async () => {
  nothingLostOrDoubled(await tailKill(fleet, { frames: FRAMES, fps: 100, resendAfter: 2 }));
});

test(`gateway SIGKILL with ${BACKLOG} frames in the outbox, restart: all delivered once`, async () => {
  const r = await gatewayKill(fleet, { backlog: BACKLOG, fps: 500 });
  nothingLostOrDoubled(r);
  assert.ok(r.expected >= BACKLOG);
  assert.equal(r.reportedOnRestart, true, 'the restarted gateway says it resends a backlog');
});

test(`gateway SIGTERM (a service stop) with ${BACKLOG} frames in the outbox: a clean exit, no torn record, all delivered once after the restart`, async () => {
  const r = await gatewayKill(fleet, { backlog: BACKLOG, fps: 500, signal: 'SIGTERM' });
  nothingLostOrDoubled(r);
  assert.ok(r.expected >= BACKLOG);
  assert.equal(r.exitCode, 0, 'the runtime stopped its flows and exited by itself');
  assert.equal(r.tornBytes, 0, 'the outbox was synced and closed, not cut mid-record');
});
