// The ops dashboard in Debian's chromium: `split-dnn start` with the all-in-one flow, the
// page at /dashboard fills its charts and table; the rate dropdown and the threshold slider
// change the running edge flow, and the table, the charts and /metrics show it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from './support/browser';
import { startRuntime, Runtime } from './support/runtime';
import { BUNDLE, REPO, tempDir } from './support/paths';
import { readFlow, patch } from './support/flows';
import { parsePrometheus, sampleValue } from './support/prometheus';
import { loadBundle } from '../lib/model';

const ARTIFACTS = path.join(REPO, 'test-artifacts');
const CHARTS = ['chart-fps', 'chart-exit', 'chart-bytes', 'chart-latency', 'chart-accuracy', 'chart-outbox'];
const GATEWAY = 'gw-dash';
let browser: Browser;
let rt: Runtime | null = null;

before(async () => { browser = await launchBrowser(); fs.mkdirSync(ARTIFACTS, { recursive: true }); });
after(async () => { await browser?.close(); await rt?.stop('SIGKILL'); });

/** The fleet table's row for a gateway, as the page shows it: {column title: cell text}. */
async function tableRow(page: Page, gateway: string): Promise<Record<string, string> | null> {
  return page.evaluate((gw) => {
    const table = document.querySelector('#nrdb-ui-widget-fleet-table table');
    if (!table) return null;
    const titles = Array.from(table.querySelectorAll('thead th')).map((th) => (th.textContent ?? '').trim());
    const row = Array.from(table.querySelectorAll('tbody tr')).map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => (td.textContent ?? '').trim()))
      .find((cells) => cells[0] === gw);
    return row ? Object.fromEntries(titles.map((t, i) => [t, row[i]])) : null;
  }, gateway);
}

/** Polls what the page shows until it passes; on timeout, a screenshot and what was seen last. */
async function poll<T>(page: Page, read: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let seen = await read();
  while (!ok(seen)) {
    if (Date.now() > until) {
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-failed.png'), fullPage: true });
      throw new Error(`timed out waiting for ${what}; saw ${JSON.stringify(seen)}`);
    }
    await page.waitForTimeout(250);
    seen = await read();
  }
  return seen;
}

const waitForRow = (page: Page, ok: (row: Record<string, string>) => boolean, what: string) =>
  poll(page, () => tableRow(page, GATEWAY), (row) => row !== null && ok(row), what) as Promise<Record<string, string>>;

/** The points a chart widget draws (Dashboard 2.0 keeps widget data in its Vuex store). */
function chartPoints(page: Page, id: string): Promise<{ series: string; y: number }[]> {
  return page.evaluate((chart) => {
    type Point = { _datapoint?: { category: string; y: number } };
    const app = (document.querySelector('#app') as unknown as { __vue_app__: { config: { globalProperties: { $store: { state: { data: { messages: Record<string, Point[]> } } } } } } }).__vue_app__;
    const points = app.config.globalProperties.$store.state.data.messages[chart];
    return Array.isArray(points) ? points.filter((p) => p._datapoint).map((p) => ({ series: p._datapoint!.category, y: p._datapoint!.y })) : [];
  }, id);
}

test('dashboard: charts fill; the rate dropdown and the threshold slider change the running flow', async () => {
  const manifest = (await loadBundle(BUNDLE)).manifest;
  const dir = tempDir('dashboard');
  // Figures every second over the last 3 s, so a change shows within seconds.
  fs.writeFileSync(path.join(dir, 'flow.json'), JSON.stringify(patch(readFlow('all-in-one.json'), 'stats', { interval: '1', window: '3' })));
  rt = await startRuntime(['--user-dir', path.join(dir, 'user'), '--flows', path.join(dir, 'flow.json'), '--mqtt-port', '0', '--bundle', BUNDLE, '--gateway', GATEWAY, '--fps', '20']);
  await rt.waitFor(/Dashboard 2\.0 \(v[\d.]+\) started at \/dashboard/);
  await rt.waitFor(/Started flows/);

  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`http://127.0.0.1:${rt.port}/dashboard`);
  await page.waitForURL(/\/dashboard\/fleet$/, { timeout: 30_000 });
  // Every chart is drawn (a canvas) and has points for this gateway.
  for (const id of CHARTS) await page.locator(`#nrdb-ui-widget-${id} canvas`).first().waitFor({ timeout: 30_000 });
  await poll(page, () => Promise.all(CHARTS.map(async (id) => (await chartPoints(page, id)).filter((p) => p.series.startsWith(GATEWAY)).length)),
    (counts) => counts.every((n) => n >= 3), `3 points on each chart (${CHARTS.join(', ')})`);
  const before = await waitForRow(page, (r) => r.link === 'connected' && Number(r['frames/s']) > 0 && r['exit %'] !== '–' && r['accuracy %'] !== '–', 'the table to fill');
  assert.ok(Number(before['exit %']) < 95, `exit ratio ${before['exit %']}% at the bundle's default threshold`);
  // The slider shows the threshold the gate runs with, on its thumb without being touched.
  const thumb = page.locator('#nrdb-ui-widget-control-threshold [role=slider]');
  assert.equal(Number(await thumb.getAttribute('aria-valuenow')), manifest.exit!.defaultThreshold);
  assert.equal(Number(await page.locator('#nrdb-ui-widget-control-threshold .v-slider-thumb__label').innerText()), manifest.exit!.defaultThreshold);

  // Rate: the dropdown lists the bundle's levels; level 0 is applied to the encoder.
  await page.locator('#nrdb-ui-widget-control-rate .v-field').click();
  const options = page.locator('.v-overlay .v-list-item');
  await options.first().waitFor();
  assert.equal(await options.count(), manifest.rates.length + 1, 'auto and every level');
  await options.filter({ hasText: /^0 · / }).click();
  await rt.waitFor(/rate set to 0/);
  await waitForRow(page, (r) => r.rate === '0', 'rate 0 (fixed) in the table');

  // Threshold: to 0 (the left end of the track), and every frame exits at the edge.
  const track = (await page.locator('#nrdb-ui-widget-control-threshold .v-slider-track').boundingBox())!;
  await page.mouse.click(track.x + 1, track.y + track.height / 2);
  await rt.waitFor(/threshold set to 0\b/);
  assert.equal(await thumb.getAttribute('aria-valuenow'), '0');
  const afterRow = await waitForRow(page, (r) => Number(r['exit %']) >= 99, 'an exit ratio of 100%');
  assert.equal(afterRow.threshold, '0');
  // Keyboard steps apply too: five presses of → from 0 give 0.05.
  await thumb.focus();
  for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
  await rt.waitFor(/threshold set to 0\.05\b/);
  assert.equal(await thumb.getAttribute('aria-valuenow'), '0.05');
  const exitChart = (await chartPoints(page, 'chart-exit')).filter((p) => p.series === GATEWAY).map((p) => p.y);
  assert.ok(exitChart.some((y) => y < 95) && exitChart.at(-1)! >= 99, `exit chart ${exitChart.join(', ')}`);
  await page.waitForTimeout(1500); // one more point on every chart for the picture
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });

  // Prometheus sees the same gateway and the same settings.
  const res = await fetch(`http://127.0.0.1:${rt.port}/metrics`);
  assert.equal(res.status, 200);
  const m = parsePrometheus(await res.text());
  assert.equal(sampleValue(m, 'split_dnn_exit_threshold', { gateway: GATEWAY }), 0.05);
  assert.equal(sampleValue(m, 'split_dnn_rate_level', { gateway: GATEWAY }), 0);
  assert.equal(sampleValue(m, 'split_dnn_rate_auto', { gateway: GATEWAY }), 0);
  assert.equal(sampleValue(m, 'split_dnn_link_up', { gateway: GATEWAY }), 1);
  assert.ok(sampleValue(m, 'split_dnn_frames_total', { gateway: GATEWAY, path: 'exit' })! > 0);
  assert.ok(sampleValue(m, 'split_dnn_cloud_frames_total', { gateway: GATEWAY })! > 0);
  await page.close();

  // On a phone the table lists each gateway as a card with every column, and nothing is wider than the screen.
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await phone.goto(`http://127.0.0.1:${rt.port}/dashboard`);
  const card = await poll(phone, () => mobileCard(phone, GATEWAY), (c) => c !== null && c['frames/s'] !== undefined, 'the gateway card on a phone');
  for (const column of ['link', 'frames/s', 'exit %', 'p95 ms', 'accuracy %', 'outbox', 'rate', 'threshold']) assert.ok(card![column] !== undefined, `${column} on the card: ${JSON.stringify(card)}`);
  assert.equal(card!.threshold, '0.05');
  assert.ok(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling');
  await phone.screenshot({ path: path.join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });
  await phone.close();
});

/** On a phone, the table's card for a gateway: {column title: value} for the cells inside the screen. */
function mobileCard(page: Page, gateway: string): Promise<Record<string, string> | null> {
  return page.evaluate((gw) => {
    const text = (e: Element | null) => (e?.textContent ?? '').trim();
    const cards = Array.from(document.querySelectorAll('#nrdb-ui-widget-fleet-table tr.v-data-table__tr--mobile')).map((tr) => Array.from(tr.querySelectorAll('td'))
      .filter((td) => { const r = td.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth; })
      .map((td) => [td.getAttribute('data-column-key') ?? '', text(td.querySelector('.nrdb-table-cell-align'))]));
    const card = cards.find((cells) => cells.some(([t, v]) => t === 'gateway' && v === gw));
    return card ? Object.fromEntries(card) : null;
  }, gateway);
}
