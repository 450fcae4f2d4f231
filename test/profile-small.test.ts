// `split-dnn start --role edge --profile small`: a Raspberry Pi budget. An edge flow has no
// ui-* node, so the small profile leaves Dashboard 2.0's modules out of the runtime, and
// the core nodes with the heaviest libraries (http request, html, xml, yaml) unless the
// flow uses them; the default profile keeps all of them so any flow can be imported later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUNDLE, REPO, tempDir } from './support/paths';
import { startRuntime } from './support/runtime';
import { startEmbeddedBroker } from '../lib/broker/embedded';
import { leanCoreExcludes } from '../settings';

interface NodeSet { module: string; types: string[] }

async function nodeSets(profile: string, dir: string, broker: string, flows?: string): Promise<NodeSet[]> {
  const rt = await startRuntime(['--role', 'edge', '--profile', profile, '--user-dir', path.join(dir, profile + (flows ? '-flow' : '')), '--broker', broker, '--mqtt-version', '4', '--bundle', BUNDLE, '--gateway', `gw-${profile}`, ...(flows ? ['--flows', flows, '--reset-flows'] : [])]);
  try {
    await rt.waitFor(/Started flows/, 60_000);
    const res = await fetch(`http://127.0.0.1:${rt.port}/nodes`, { headers: { Accept: 'application/json' } });
    assert.equal(res.status, 200);
    return (await res.json()) as NodeSet[];
  } finally {
    await rt.stop();
  }
}

const modules = (sets: NodeSet[]) => sets.map((n) => n.module);
const types = (sets: NodeSet[]) => new Set(sets.flatMap((n) => n.types));

test('the small edge profile loads no dashboard and no heavy core nodes its flow lacks; the default profile loads them', { timeout: 200_000 }, async () => {
  const broker = await startEmbeddedBroker(0);
  const dir = tempDir('profile');
  try {
    const small = await nodeSets('small', dir, broker.url);
    const standard = await nodeSets('default', dir, broker.url);
    assert.ok(modules(small).includes('node-red-contrib-split-dnn') && modules(standard).includes('node-red-contrib-split-dnn'));
    assert.ok(!modules(small).includes('@flowfuse/node-red-dashboard'), `small: ${[...new Set(modules(small))].join(', ')}`);
    assert.ok(modules(standard).includes('@flowfuse/node-red-dashboard'), `default: ${[...new Set(modules(standard))].join(', ')}`);
    for (const t of ['http request', 'html', 'xml', 'yaml']) {
      assert.ok(!types(small).has(t), `small leaves out ${t}`);
      assert.ok(types(standard).has(t), `default has ${t}`);
    }
    // What the edge flow itself uses is there.
    for (const t of ['debug', 'link in', 'link out', 'catch', 'split-head']) assert.ok(types(small).has(t), `small has ${t}`);

    // A small edge whose flow has an http request node keeps that one.
    const flow = JSON.parse(fs.readFileSync(path.join(REPO, 'flows', 'edge.json'), 'utf8')) as object[];
    flow.push({ id: 'req', type: 'http request', z: 'tab-edge', method: 'GET', url: 'http://127.0.0.1:1/', wires: [[]] });
    const file = path.join(dir, 'with-request.json');
    fs.writeFileSync(file, JSON.stringify(flow));
    const withRequest = await nodeSets('small', dir, broker.url, file);
    assert.ok(types(withRequest).has('http request'), 'kept: the flow uses it');
    assert.ok(!types(withRequest).has('html'), 'still out: the flow does not use it');
  } finally {
    await broker.close();
  }
});

test('leanCoreExcludes: every heavy core node file but the ones whose types the flow has', () => {
  assert.deepEqual(leanCoreExcludes(['debug', 'split-head']), ['21-httprequest.js', '70-HTML.js', '70-XML.js', '70-YAML.js']);
  assert.deepEqual(leanCoreExcludes(['yaml', 'http request']), ['70-HTML.js', '70-XML.js']);
});
