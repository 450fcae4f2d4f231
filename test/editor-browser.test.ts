// The Node-RED editor in a real browser: the palette shows our category and every node
// type; a node dragged onto the workspace opens its dialog and help; each example flow
// imports from Import > Examples and deploys without errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from './support/browser';
import { startRuntime, Runtime } from './support/runtime';
import { BUNDLE, REPO, tempDir } from './support/paths';
import { editorLayout } from './support/editor-layout';

// Every node the package registers, less the config nodes (they live in the config sidebar).
const CONFIG_TYPES = new Set(['split-model', 'split-link', 'gateway-board']);
const TYPES = Object.keys(JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'))['node-red'].nodes).filter((t) => !CONFIG_TYPES.has(t));
const ARTIFACTS = path.join(REPO, 'test-artifacts');
let browser: Browser;
const runtimes: Runtime[] = [];

before(async () => { browser = await launchBrowser(); fs.mkdirSync(ARTIFACTS, { recursive: true }); });
after(async () => { await browser?.close(); for (const r of runtimes) await r.stop('SIGKILL'); });

async function emptyRuntime(): Promise<Runtime> {
  const dir = tempDir('editor');
  fs.writeFileSync(path.join(dir, 'empty.json'), '[]');
  const rt = await startRuntime(['--user-dir', path.join(dir, 'user'), '--flows', path.join(dir, 'empty.json'), '--mqtt-port', '0', '--bundle', BUNDLE]);
  runtimes.push(rt);
  await rt.waitFor(/Started flows/);
  return rt;
}

async function openEditor(rt: Runtime): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`http://127.0.0.1:${rt.port}/`);
  await page.waitForSelector('#red-ui-palette-container .red-ui-palette-node', { timeout: 30_000 });
  return page;
}

test('palette: the split DNN category holds every node type; drag, edit dialog and help', async () => {
  const rt = await emptyRuntime();
  const page = await openEditor(rt);
  const category = page.locator('#red-ui-palette-split_DNN, [id^="red-ui-palette-base-category-split"]').first();
  await category.waitFor({ timeout: 10_000 });
  for (const type of TYPES) {
    assert.equal(await category.locator(`.red-ui-palette-node[data-palette-type="${type}"]`).count(), 1, `${type} in the split DNN category`);
  }
  // Palette labels come from the locales catalogs (paletteLabel), not from the type name.
  assert.equal((await category.locator('.red-ui-palette-node[data-palette-type="early-exit-gate"] .red-ui-palette-label').innerText()).replace(/\s+/g, ' ').trim(), 'early exit gate');
  // Drag split-head from the palette onto the workspace, then open it.
  const source = page.locator('.red-ui-palette-node[data-palette-type="split-head"]');
  await source.scrollIntoViewIfNeeded();
  const from = (await source.boundingBox())!;
  const chart = (await page.locator('#red-ui-workspace-chart').boundingBox())!;
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  for (let i = 1; i <= 10; i++) await page.mouse.move(from.x + ((chart.x + 400 - from.x) * i) / 10, from.y + ((chart.y + 200 - from.y) * i) / 10);
  await page.mouse.up();
  const placed = page.locator('#red-ui-workspace-chart g.red-ui-flow-node-group').first();
  await placed.waitFor({ timeout: 10_000 });
  await placed.locator('rect.red-ui-flow-node').dblclick();
  await page.locator('#node-input-model').waitFor({ state: 'visible', timeout: 10_000 });
  assert.equal(await page.locator('.red-ui-tray-titlebar').first().innerText().then((t) => /split head|split-head/i.test(t)), true);
  // The dialog's field labels are the catalog's strings (data-i18n), not keys.
  assert.equal((await page.locator('label[for="node-input-model"]').innerText()).trim(), 'Model');
  // The help sidebar shows this node's help text.
  // Node-RED 4: the help tab's label, or its icon when the tabs are collapsed; Node-RED 5: a
  // button in the sidebar's tab bar.
  await page.locator('#red-ui-tab-help a.red-ui-tab-label, a.red-ui-tab-link-button[href="#help"], .red-ui-sidebar-tab-bar button[data-tab-id="help"]')
    .filter({ visible: true }).first().click();
  await page.waitForFunction(() => document.body.innerText.includes('Runs the head of the split model on an image'), null, { timeout: 10_000 });
  // A help link to the docs opens the copy Node-RED serves from this module's resources/.
  const doc = await fetch(`http://127.0.0.1:${rt.port}/resources/node-red-contrib-split-dnn/docs/bundle-format.md`);
  assert.equal(doc.status, 200);
  assert.equal(await doc.text(), fs.readFileSync(path.join(REPO, 'docs', 'bundle-format.md'), 'utf8'));
  // Deployed without a model, its status is a message id that the editor shows from the catalog.
  await page.locator('#node-dialog-cancel').click();
  await page.locator('#red-ui-header-button-deploy').click();
  await page.locator('.red-ui-notification button', { hasText: /confirm deploy/i }).click(); // it is not configured
  await page.waitForFunction(() => Array.from(document.querySelectorAll('.red-ui-flow-node-status-label')).some((e) => e.textContent === 'no model configured'), null, { timeout: 10_000 });
  await page.screenshot({ path: path.join(ARTIFACTS, 'editor-split-head.png') });
  await page.close();
});

for (const example of ['cloud', 'all-in-one', 'edge', 'hardware']) {
  test(`Import > Examples: ${example} imports and deploys without errors`, async () => {
    const rt = await emptyRuntime();
    const page = await openEditor(rt);
    await page.keyboard.press('Control+i');
    await page.locator('a[href="#red-ui-clipboard-dialog-import-tab-examples"]').click();
    await page.locator('.red-ui-clipboard-dialog-tab-library .red-ui-treeList-label', { hasText: 'node-red-contrib-split-dnn' }).first().click();
    const item = page.locator('.red-ui-clipboard-dialog-tab-library .red-ui-treeList-label', { hasText: new RegExp(`^\\s*${example}\\s*$`) }).first();
    await item.waitFor({ timeout: 10_000 }).catch(async (err) => {
      await page.screenshot({ path: path.join(ARTIFACTS, `editor-import-${example}-failed.png`) });
      throw err;
    });
    await item.click();
    await page.locator('#red-ui-clipboard-dialog-ok').click();
    await page.waitForTimeout(500);
    assert.equal(await page.locator('.red-ui-notification', { hasText: /unrecognised|unknown/i }).count(), 0, 'no unknown node types');
    await page.locator('#red-ui-header-button-deploy').click();
    await page.locator('.red-ui-notification', { hasText: 'Successfully deployed' }).waitFor({ timeout: 15_000 });
    await rt.waitFor(/Started flows[\s\S]*Started flows/, 15_000);
    assert.doesNotMatch(rt.output(), /missing node types|Waiting for missing types|Unknown type/i);
    // What the runtime now runs is the example, node for node.
    const deployed = (await (await fetch(`http://127.0.0.1:${rt.port}/flows`)).json()) as { type: string }[];
    const shipped = JSON.parse(fs.readFileSync(path.join(REPO, 'flows', `${example}.json`), 'utf8')) as { type: string }[];
    // Tabs aside: the editor adds an empty "Flow 1" tab of its own.
    const types = (list: { type: string }[]) => list.map((n) => n.type).filter((t) => t !== 'tab').sort();
    assert.deepEqual(types(deployed), types(shipped));
    // Laid out to be read: in groups, nothing on top of anything, no wire through a node.
    const label = (shipped.find((n) => n.type === 'tab') as unknown as { label: string }).label;
    await page.locator('#red-ui-workspace-tabs .red-ui-tab-label', { hasText: label }).click();
    await page.locator('#red-ui-workspace-chart g.red-ui-flow-group').first().waitFor();
    const layout = await editorLayout(page);
    assert.ok(layout.groups >= 1 && layout.nodes === shipped.filter((n) => 'x' in n && n.type !== 'group').length, `drawn: ${JSON.stringify(layout)}`);
    assert.deepEqual(layout.problems, []);
    await page.screenshot({ path: path.join(ARTIFACTS, `editor-import-${example}.png`) });
    await page.close();
  });
}
