// `split-dnn start` locked down from the environment: the editor and admin API need a token
// when SPLIT_DNN_ADMIN_PASSWORD is set, and a broker password deployed through the API is
// stored only in the credentials file, encrypted with SPLIT_DNN_CREDENTIAL_SECRET.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startRuntime, Runtime } from './support/runtime';
import { DIST, tempDir } from './support/paths';
import { spawn } from 'node:child_process';

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

/** `split-dnn start` that is expected to refuse: its exit code and output. */
function refusedStart(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [path.join(DIST, 'bin', 'split-dnn.js'), 'start', '--port', '0', ...args], { env: { ...process.env, SPLIT_DNN_ADMIN_PASSWORD: '', SPLIT_DNN_ADMIN_PASSWORD_HASH: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    proc.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`still running:\n${output}`)); }, 30_000);
    proc.on('exit', (code) => { clearTimeout(timer); resolve({ code, output }); });
  });
}

test('--host beyond localhost without a password refuses to start (unless --insecure); with one, the admin API stays locked', async () => {
  const dir = tempDir('host');
  const seed = path.join(dir, 'empty.json');
  fs.writeFileSync(seed, '[]');
  const common = ['--role', 'edge', '--flows', seed, '--host', '0.0.0.0'];
  const open = await refusedStart([...common, '--user-dir', path.join(dir, 'a')]);
  assert.equal(open.code, 1);
  assert.match(open.output, /--host 0\.0\.0\.0 would serve the editor and the dashboard to the network with no login: set SPLIT_DNN_ADMIN_PASSWORD .* or pass --insecure/);
  assert.doesNotMatch(open.output, /editor on/, 'nothing was served');

  const insecure = await startRuntime([...common, '--user-dir', path.join(dir, 'b'), '--insecure'], { SPLIT_DNN_ADMIN_PASSWORD: '' });
  running.push(insecure);
  await insecure.waitFor(/Started flows/);
  assert.match(insecure.output(), /WARNING: --insecure: the editor and the dashboard on 0\.0\.0\.0 need no login/);
  await insecure.stop('SIGKILL');

  const locked = await startRuntime([...common, '--user-dir', path.join(dir, 'c')], { SPLIT_DNN_ADMIN_PASSWORD: ADMIN_PASSWORD });
  running.push(locked);
  await locked.waitFor(/Started flows/);
  const post = await fetch(`http://127.0.0.1:${locked.port}/flows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
  assert.equal(post.status, 401, 'an unauthenticated POST /flows');
});

test('a --ca-file that cannot be read stops the start with its path', async () => {
  const missing = path.join(tempDir('ca'), 'no-such-ca.pem');
  const r = await refusedStart(['--role', 'edge', '--broker', 'mqtts://127.0.0.1:8883', '--ca-file', missing, '--user-dir', tempDir('ca-user')]);
  assert.equal(r.code, 1);
  assert.ok(r.output.includes(`cannot read CA file ${missing} (--ca-file / SPLIT_DNN_CA_FILE): ENOENT`), r.output);
});
