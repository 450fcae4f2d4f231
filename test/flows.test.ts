// The shipped flows as files: each runs as imported into any Node-RED (every ${SPLIT_DNN_*}
// has a default on its tab, and the nodes that read one sit on that tab so its env applies),
// every node type of the package appears in an example, and the dashboard's axes start at 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO } from './support/paths';
import { readFlow, FlowNode } from './support/flows';

const FLOWS = fs.readdirSync(path.join(REPO, 'flows')).filter((f) => f.endsWith('.json'));
type Env = { name: string; type: string; value: string };

for (const file of FLOWS) {
  test(`${file}: every \${SPLIT_DNN_*} field has a default on its tab`, () => {
    const flow = readFlow(file);
    const tabs = flow.filter((n) => n.type === 'tab') as (FlowNode & { env: Env[] })[];
    assert.equal(tabs.length, 1);
    const env = new Map(tabs[0].env.map((e) => [e.name, e]));
    for (const n of flow.filter((x) => x.type !== 'tab')) {
      for (const [, name] of JSON.stringify(n).matchAll(/\$\{(\w+)\}/g)) {
        assert.ok(env.has(name), `${n.id} reads ${name}, which the tab defines`);
        assert.equal(n.z, tabs[0].id, `${n.id} is on the tab, so the tab's env applies to it`);
      }
    }
    for (const e of env.values()) {
      // The process environment first (split-dnn start's flags), else the default.
      assert.equal(e.type, 'jsonata');
      assert.match(e.value, new RegExp(`^\\$env\\("\\$parent\\.${e.name}"\\) \\? \\$env\\("\\$parent\\.${e.name}"\\) : "[^"]*"$`));
    }
  });
}

test('examples: every non-config node type of the package is in one (the Flow Library checks this)', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
  const used = new Set(FLOWS.flatMap((f) => readFlow(f).map((n) => n.type)));
  for (const type of Object.keys(pkg['node-red'].nodes)) assert.ok(used.has(type), `${type} in an example`);
});

test('dashboard: every chart\'s y axis starts at 0, percentages end at 100', () => {
  const charts = FLOWS.flatMap((f) => readFlow(f)).filter((n) => n.type === 'ui-chart');
  assert.ok(charts.length >= 6);
  for (const c of charts) {
    assert.equal(c.ymin, '0', `${c.id} starts at 0`);
    if (c.yAxisLabel === '%') assert.equal(c.ymax, '100', `${c.id} ends at 100`);
  }
  // The exit audit charts an epsilon of a few %: it starts at 0 and scales to what it shows.
  const audit = charts.find((c) => c.id === 'chart-audit');
  assert.ok(audit && audit.yAxisLabel === 'disagreement %' && audit.ymax === '', 'the audit chart');
});
