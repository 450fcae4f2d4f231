// Run inside a network namespace with only loopback (palette-install.test.ts starts it with
// `unshare -rn`): a stock Node-RED on a fresh user dir, the packed package uploaded through
// the palette manager's own endpoint (POST /nodes with a tarball, as Manage palette ▸
// Install ▸ upload does), then every example it ships deployed in turn. Prints one JSON line.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const [tarball, userDir] = process.argv.slice(2);
const PORT = 1880;
const base = `http://127.0.0.1:${PORT}`;
const MODULE = 'node-red-contrib-split-dnn';

async function main(): Promise<void> {
  const red = spawn(process.execPath, [require.resolve('node-red/red.js'), '--userDir', userDir, '--port', String(PORT)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  red.stdout!.on('data', (d) => { log += d; });
  red.stderr!.on('data', (d) => { log += d; });
  const until = async (ok: () => boolean | Promise<boolean>, what: string, ms: number) => {
    for (const end = Date.now() + ms; !(await ok());) {
      if (Date.now() > end || red.exitCode !== null) throw new Error(`no ${what}; log:\n${log.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const report: Record<string, unknown> = {};
  try {
    await until(() => /Started flows/.test(log), 'start', 60_000);
    const form = new FormData();
    form.append('tarball', new Blob([fs.readFileSync(tarball)]), path.basename(tarball));
    const started = Date.now();
    const res = await fetch(`${base}/nodes`, { method: 'POST', body: form, headers: { 'Node-RED-API-Version': 'v2' } });
    report.install = { status: res.status, seconds: (Date.now() - started) / 1000, body: (await res.text()).slice(0, 2000) };
    const installed = path.join(userDir, 'node_modules', MODULE);
    report.installedBytes = du(path.join(userDir, 'node_modules'));
    const nodes = (await (await fetch(`${base}/nodes`, { headers: { Accept: 'application/json' } })).json()) as { module: string; types: string[]; enabled: boolean; err?: string }[];
    report.sets = nodes.filter((s) => s.module === MODULE).map((s) => ({ types: s.types, enabled: s.enabled, err: s.err }));
    report.examples = {};
    for (const file of fs.readdirSync(path.join(installed, 'examples')).filter((f) => f.endsWith('.json')).sort()) {
      const flow = JSON.parse(fs.readFileSync(path.join(installed, 'examples', file), 'utf8'));
      const mark = log.length;
      const deploy = await fetch(`${base}/flows`, { method: 'POST', body: JSON.stringify(flow), headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' } });
      await until(() => /Started flows/.test(log.slice(mark)), `started flows for ${file}`, 30_000);
      await new Promise((r) => setTimeout(r, 3000)); // let the nodes start and report
      (report.examples as Record<string, unknown>)[file] = { status: deploy.status, log: log.slice(mark).split('\n').filter((l) => /\[(error|warn)\]/.test(l)) };
    }
  } catch (err) {
    report.error = `${(err as Error).stack}\n${log.slice(-3000)}`;
  } finally {
    red.kill('SIGTERM');
    report.exit = await new Promise((r) => red.on('exit', (code) => r(code)));
    process.stdout.write(JSON.stringify(report) + '\n');
  }
}

function du(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += du(p);
    else if (e.isFile()) total += fs.statSync(p).size;
  }
  return total;
}

main().catch((err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
