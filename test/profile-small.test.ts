// `split-dnn start --role edge --profile small`: a Raspberry Pi budget. An edge flow has no
// ui-* node, so the small profile leaves Dashboard 2.0's modules out of the runtime; the
// default profile keeps them so a dashboard flow can be imported later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { BUNDLE, tempDir } from './support/paths';
import { startRuntime } from './support/runtime';
import { startEmbeddedBroker } from '../lib/broker/embedded';

async function nodeModules(profile: string, dir: string, broker: string): Promise<string[]> {
  const rt = await startRuntime(['--role', 'edge', '--profile', profile, '--user-dir', path.join(dir, profile), '--broker', broker, '--mqtt-version', '4', '--bundle', BUNDLE, '--gateway', `gw-${profile}`]);
  try {
    await rt.waitFor(/Started flows/, 60_000);
    const res = await fetch(`http://127.0.0.1:${rt.port}/nodes`, { headers: { Accept: 'application/json' } });
    assert.equal(res.status, 200);
    return ((await res.json()) as { module: string }[]).map((n) => n.module);
  } finally {
    await rt.stop();
  }
}

test('the small edge profile loads no dashboard; the default profile does', { timeout: 150_000 }, async () => {
  const broker = await startEmbeddedBroker(0);
  const dir = tempDir('profile');
  try {
    const small = await nodeModules('small', dir, broker.url);
    const standard = await nodeModules('default', dir, broker.url);
    assert.ok(small.includes('node-red-contrib-split-dnn') && standard.includes('node-red-contrib-split-dnn'));
    assert.ok(!small.includes('@flowfuse/node-red-dashboard'), `small: ${[...new Set(small)].join(', ')}`);
    assert.ok(standard.includes('@flowfuse/node-red-dashboard'), `default: ${[...new Set(standard)].join(', ')}`);
  } finally {
    await broker.close();
  }
});
