// The dashboard locked with the editor: `split-dnn start` (all-in-one flow) with
// SPLIT_DNN_ADMIN_PASSWORD. Anonymous, neither the /dashboard page nor its socket.io answer,
// and a script that speaks socket.io cannot move the exit threshold; with the login (or
// the separate viewer login) it can, which shows the attempt would have worked.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startRuntime, Runtime } from './support/runtime';
import { socketIo } from './support/socketio';
import { readFlow, patch } from './support/flows';
import { BUNDLE, tempDir } from './support/paths';
import { sleep } from './support/faults';
import { launchBrowser } from './support/browser';
import type { Browser } from 'playwright-core';

const PASSWORD = 'dash-lock-3c9a';
const VIEWER = 'viewer-7f21';
let rt: Runtime | null = null;
let browser: Browser | null = null;
after(async () => { await browser?.close(); await rt?.stop('SIGKILL'); });

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

test('with an admin password, /dashboard and its socket.io need a login: an anonymous socket.io client cannot change a control', async () => {
  const dir = tempDir('dash-auth');
  fs.writeFileSync(path.join(dir, 'flow.json'), JSON.stringify(patch(readFlow('all-in-one.json'), 'edge-camera', { autostart: false })));
  rt = await startRuntime(['--user-dir', path.join(dir, 'user'), '--flows', path.join(dir, 'flow.json'), '--mqtt-port', '0', '--bundle', BUNDLE, '--gateway', 'gw-lock'],
    { SPLIT_DNN_ADMIN_PASSWORD: PASSWORD, SPLIT_DNN_DASHBOARD_PASSWORD: VIEWER });
  await rt.waitFor(/Started flows/);
  const base = `http://127.0.0.1:${rt.port}`;
  const io = `${base}/dashboard/socket.io/`;

  assert.equal((await fetch(`${base}/dashboard`)).status, 401, 'the page asks for a login');
  assert.match(String((await fetch(`${base}/dashboard`)).headers.get('www-authenticate')), /^Basic realm=/);
  assert.equal((await fetch(`${base}/dashboard`, { headers: basic('admin', 'wrong') })).status, 401);

  const anonymous = await socketIo(io);
  assert.equal(anonymous.outcome, 'login required');
  await anonymous.emit('widget-change', 'control-threshold', 0.99);
  const wrong = await socketIo(io, basic('admin', 'guess'));
  assert.equal(wrong.outcome, 'login required');
  await wrong.emit('widget-change', 'control-threshold', 0.98);
  await sleep(1000);
  assert.doesNotMatch(rt.output(), /threshold set to 0\.9[89]/, 'the threshold did not move');

  // The same script with the editor's login, then with the viewer login: it works, so the refusal above was the lock.
  assert.equal((await fetch(`${base}/dashboard`, { headers: basic('admin', PASSWORD) })).status, 200);
  const admin = await socketIo(io, basic('admin', PASSWORD));
  assert.equal(admin.outcome, 'connected');
  await admin.emit('widget-change', 'control-threshold', 0.97);
  await rt.waitFor(/threshold set to 0\.97/, 10_000);
  const viewer = await socketIo(io, basic('viewer', VIEWER));
  assert.equal(viewer.outcome, 'connected');
  await viewer.emit('widget-change', 'control-threshold', 0.96);
  await rt.waitFor(/threshold set to 0\.96/, 10_000);
  await Promise.all([admin.close(), viewer.close()]);
  // And in chromium with the viewer login, the page connects its socket.io and shows the controls as they are.
  browser = await launchBrowser();
  const page = await browser.newPage({ httpCredentials: { username: 'viewer', password: VIEWER } });
  await page.goto(`${base}/dashboard`);
  await page.waitForURL(/\/dashboard\/fleet$/, { timeout: 30_000 });
  await page.locator('#nrdb-ui-widget-control-threshold [role=slider]').waitFor({ timeout: 30_000 });
  const anonymousPage = await browser.newPage();
  const refused = await anonymousPage.goto(`${base}/dashboard`).then((r) => `HTTP ${r?.status()}`, (err: Error) => err.message);
  assert.match(refused, /HTTP 401|ERR_INVALID_AUTH_CREDENTIALS/, 'chromium without the login gets no page');
  // The viewer login opens the dashboard only, not the editor's admin API.
  const token = await fetch(`${base}/auth/token`, {
    method: 'POST', body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'viewer', password: VIEWER }),
  });
  assert.notEqual(token.status, 200);
  assert.equal((await fetch(`${base}/flows`, { headers: basic('viewer', VIEWER) })).status, 401);
});
