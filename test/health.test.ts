// Health on a real (embedded) broker: a gateway's retained status, ping/pong, and the
// cloud's fleet list, through the same EdgeLink and CloudLink the frames use.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as mqtt from 'mqtt';
import { startEmbeddedBroker, EmbeddedBroker } from '../lib/broker/embedded';
import { until } from './support/until';
import { EdgeLink } from '../lib/link/edge-link';
import { CloudLink } from '../lib/link/cloud-link';
import { StatusReporter, FleetView, RuntimeStatus } from '../lib/health/status';
import { topics } from '../lib/link/topics';

let broker: EmbeddedBroker;
before(async () => { broker = await startEmbeddedBroker(); });
after(async () => { await broker.close(); });

const settings = () => ({ url: broker.url, protocolVersion: 4 as const });

test('a gateway publishes a retained status and answers pings; the cloud lists the fleet', async (t) => {
  const edge = await EdgeLink.open({ settings: settings(), gateway: 'gw-h' });
  const cloud = await CloudLink.open({ settings: settings(), group: null, name: 'tail-h' });
  // A failed assertion must not leave the links reconnecting (the file would never end).
  t.after(() => Promise.all([edge.close(), cloud.close()]));
  await until(() => edge.connected && cloud.connected);
  let errors = 0;
  const reporter = new StatusReporter(edge, () => ({
    role: 'edge', bundle: { name: 'b', version: '9', modelId: '0123456789abcdef' }, versions: ['0123456789abcdef'], update: null,
    outbox: { pending: edge.outbox.size, dropped: 0, durable: false }, errors: { inference: errors },
  }), 60_000);
  const fleet = new FleetView(cloud);
  const pong = await fleet.ping('gw-h');
  assert.equal(pong.gateway, 'gw-h');
  assert.ok(pong.lastPongMs !== null && pong.lastPongMs >= 0);
  assert.equal(pong.status!.bundle!.version, '9');
  errors = 2;
  reporter.publish();
  await until(() => (fleet.entries.get('gw-h')?.status?.errors.inference ?? 0) === 2);
  // The retained status and the birth frame travel on different topics: either may come first.
  await until(() => fleet.list().find((r) => r.gateway === 'gw-h')?.live === true);
  const row = fleet.list().find((r) => r.gateway === 'gw-h')!;
  assert.equal(row.bundle, 'b 9 (0123456789abcdef)');
  assert.equal(row.errors, 2);
  assert.equal(row.live, true, 'birth frame seen');

  // Retained: a client that comes later still gets it, with uptime, CPU and memory.
  const late = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
  const got = new Promise<RuntimeStatus>((resolve) => late.on('message', (_t, p) => resolve(JSON.parse(p.toString()))));
  await late.subscribeAsync(topics.status('gw-h'));
  const s = await got;
  assert.equal(s.gateway, 'gw-h');
  assert.ok(s.uptimeS >= 0 && s.memory.rssMB > 0 && s.cpu.cores >= 1 && s.software.node === process.version);
  await late.endAsync();

  await edge.close(); // a clean stop publishes the death
  await until(() => fleet.list().find((r) => r.gateway === 'gw-h')!.live === false);
  await assert.rejects(fleet.ping('gw-h', 500), /no pong from gw-h/);
  reporter.close();
  fleet.close();
  await cloud.close();
});
