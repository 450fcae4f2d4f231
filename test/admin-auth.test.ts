// `split-dnn start` locked down from the environment: the editor and admin API need a token
// when SPLIT_DNN_ADMIN_PASSWORD is set, and a broker password deployed through the API is
// stored only in the credentials file, encrypted with SPLIT_DNN_CREDENTIAL_SECRET.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startRuntime, Runtime } from './support/runtime';
import { tempDir } from './support/paths';

const ADMIN_PASSWORD = 'correct horse battery';
const SECRET = 'fleet-credential-secret';
const BROKER_PASSWORD = 'broker-pass-8d1f';

const running: Runtime[] = [];
after(async () => { for (const r of running) await r.stop('SIGKILL'); });

/** Node-RED's credentials format: {"$": hex IV (16 bytes) + base64 AES-256-CTR, key = sha256(secret)}. */
function decryptCredentials(file: string, secret: string): Record<string, Record<string, string>> {
  const { $: sealed } = JSON.parse(fs.readFileSync(file, 'utf8')) as { $: string };
  const key = crypto.createHash('sha256').update(secret).digest();
  const decipher = crypto.createDecipheriv('aes-256-ctr', key, Buffer.from(sealed.slice(0, 32), 'hex'));
  return JSON.parse(decipher.update(sealed.slice(32), 'base64', 'utf8') + decipher.final('utf8'));
}

test('admin password from the environment locks the admin API; credentials are encrypted with the secret from the environment', async () => {
  const dir = tempDir('admin');
  const seed = path.join(dir, 'empty.json');
  fs.writeFileSync(seed, '[]');
  const userDir = path.join(dir, 'user');
  const rt = await startRuntime(['--role', 'edge', '--user-dir', userDir, '--flows', seed],
    { SPLIT_DNN_ADMIN_PASSWORD: ADMIN_PASSWORD, SPLIT_DNN_CREDENTIAL_SECRET: SECRET });
  running.push(rt);
  await rt.waitFor(/Started flows/);
  const base = `http://127.0.0.1:${rt.port}`;

  assert.equal((await fetch(`${base}/flows`)).status, 401, 'GET /flows without a token');
  assert.equal((await fetch(`${base}/flows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' })).status, 401);
  assert.equal(((await (await fetch(`${base}/auth/login`)).json()) as { type: string }).type, 'credentials', 'the editor asks for a login');

  const login = (password: string) => fetch(`${base}/auth/token`, {
    method: 'POST',
    body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password }),
  });
  assert.notEqual((await login('wrong')).status, 200, 'a wrong password gets no token');
  const { access_token: token } = (await (await login(ADMIN_PASSWORD)).json()) as { access_token: string };
  const auth = { authorization: `Bearer ${token}` };
  assert.equal((await fetch(`${base}/flows`, { headers: auth })).status, 200, 'GET /flows with a token');

  // Deploy a broker link with a login, as the editor would.
  const flows = [
    { id: 't1', type: 'tab', label: 'gateway' },
    { id: 'cfg', type: 'split-link', name: 'broker', broker: 'mqtts://broker.example:8883', protocol: '5', gateway: 'gw-a', group: '', verifyServer: true,
      outboxDir: '', credentials: { username: 'gw-a', password: BROKER_PASSWORD } },
  ];
  const deployed = await fetch(`${base}/flows`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(flows) });
  assert.equal(deployed.status, 204);

  const flowFile = path.join(userDir, 'flows-edge.json');
  const credFile = path.join(userDir, 'flows-edge_cred.json');
  assert.ok(!fs.readFileSync(flowFile, 'utf8').includes(BROKER_PASSWORD), 'no broker password in the flow file');
  assert.ok(!fs.readFileSync(credFile, 'utf8').includes(BROKER_PASSWORD), 'nor in plain text in the credentials file');
  assert.deepEqual(decryptCredentials(credFile, SECRET).cfg, { username: 'gw-a', password: BROKER_PASSWORD }, 'encrypted with SPLIT_DNN_CREDENTIAL_SECRET');
  assert.ok(!JSON.stringify(await (await fetch(`${base}/flows`, { headers: auth })).json()).includes(BROKER_PASSWORD), 'the API never hands it back');
  assert.doesNotMatch(rt.output(), /system-generated key/);
});
