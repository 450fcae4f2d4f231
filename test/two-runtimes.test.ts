// Edge and cloud as two separate Node-RED processes on one broker: results reach the edge.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUNDLE, tempDir } from './support/paths';
import { readFlow, patch } from './support/flows';
import { startRuntime, Runtime } from './support/runtime';
import { startEmbeddedBroker } from '../lib/broker/embedded';

const running: Runtime[] = [];
after(async () => { for (const r of running) await r.stop('SIGKILL'); });

test('edge and cloud runtimes on one broker: the edge logs cloud results for its frames', async () => {
  const broker = await startEmbeddedBroker(0);
  const dir = tempDir('two-rt');
  // The edge flow as shipped, with its results printed to the log so this test can read them.
  const edgeFlow = patch(readFlow('edge.json'), 'edge-results', { active: true, console: true, complete: 'payload' });
  patch(edgeFlow, 'edge-gate', { threshold: '1' }); // everything goes to the cloud
  patch(edgeFlow, 'edge-camera', { fps: '20', limit: '40' });
  fs.writeFileSync(path.join(dir, 'edge.json'), JSON.stringify(edgeFlow));
  const common = ['--broker', broker.url, '--mqtt-version', '4', '--bundle', BUNDLE];
  try {
    const cloud = await startRuntime(['--role', 'cloud', '--user-dir', path.join(dir, 'cloud'), ...common]);
    running.push(cloud);
    await cloud.waitFor(/Started flows/);
    const edge = await startRuntime(['--role', 'edge', '--user-dir', path.join(dir, 'edge'), '--flows', path.join(dir, 'edge.json'), '--gateway', 'gw-two', ...common]);
    running.push(edge);
    await edge.waitFor(/Started flows/);
    // 40 frames, each answered by the other process.
    // The debug node logs each payload with util.inspect.
    await edge.waitForCount(/source: 'cloud'/g, 40, 60_000);
    const results = edge.output().match(/source: 'cloud'/g) ?? [];
    assert.equal(results.length, 40);
    assert.match(edge.output(), /label: '[^']+',\s+index: \d+,\s+confidence: [\d.]+/);
    assert.match(cloud.output(), /gateway gw-two is live/);
    assert.equal(await edge.stop(), 0, 'SIGTERM stops the edge cleanly');
    await cloud.waitFor(/gateway gw-two is gone/, 10_000);
  } finally {
    await broker.close();
  }
});
