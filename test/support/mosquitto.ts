// Debian's mosquitto (MQTT 5, shared subscriptions) started by a test: a temporary config
// on a free loopback port, killed and restarted on the same port, removed at exit.
import { spawn, execFileSync, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { tempDir } from './paths';

export const MOSQUITTO = process.env.MOSQUITTO_PATH ?? '/usr/sbin/mosquitto';

export interface MosquittoOptions {
  /** Keep sessions and queued messages across a restart (saved on a clean stop only). */
  persistence?: boolean;
  /** user → password, written with mosquitto_passwd; anonymous clients are then refused. */
  users?: Record<string, string>;
  /** The text of an ACL file. */
  acl?: string;
  /** PEM files: the listener speaks TLS (mqtts://). */
  tls?: { certfile: string; keyfile: string };
  /** Further config lines. */
  extra?: string[];
}

export interface Mosquitto {
  port: number;
  url: string;
  dir: string;
  output(): string;
  /** Send a signal and wait until the broker has exited (SIGKILL: no save, no goodbye). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start again on the same port, optionally with changed options (a new certificate, say). */
  restart(changes?: MosquittoOptions): Promise<void>;
  /** Add or change a login and SIGHUP: mosquitto re-reads its password and ACL files. */
  addUser(user: string, password: string): void;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => { for (const p of running) p.kill('SIGKILL'); });

/** A port nobody listens on right now (the broker binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function writeConfig(dir: string, port: number, o: MosquittoOptions): string {
  const lines = [
    `listener ${port} 127.0.0.1`,
    // Run as whoever runs the test: as root mosquitto would switch to a user that cannot read the temp dir.
    `user ${os.userInfo().username}`,
    'log_dest stderr',
    'log_type error', 'log_type warning', 'log_type notice', 'log_type information',
    `persistence ${o.persistence ? 'true' : 'false'}`,
    `persistence_location ${dir}/`,
    `allow_anonymous ${o.users ? 'false' : 'true'}`,
  ];
  if (o.users) {
    const file = path.join(dir, 'passwd');
    fs.writeFileSync(file, '');
    for (const [user, pass] of Object.entries(o.users)) execFileSync('mosquitto_passwd', ['-b', file, user, pass]);
    lines.push(`password_file ${file}`);
  }
  if (o.acl !== undefined) {
    fs.writeFileSync(path.join(dir, 'acl'), o.acl);
    lines.push(`acl_file ${path.join(dir, 'acl')}`);
  }
  if (o.tls) lines.push(`certfile ${o.tls.certfile}`, `keyfile ${o.tls.keyfile}`);
  lines.push(...(o.extra ?? []));
  const file = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const dir = tempDir('mosquitto');
  const port = await freePort();
  let opts = options;
  let proc: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let out = '';

  const launch = async () => {
    const conf = writeConfig(dir, port, opts);
    const p = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    running.add(p);
    exited = new Promise((resolve) => p.once('exit', () => { running.delete(p); resolve(); }));
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`mosquitto did not start:\n${out.slice(-2000)}`)), 10_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (/running/.test(out.slice(-500))) { clearTimeout(timer); resolve(); }
      };
      p.stdout!.on('data', onData);
      p.stderr!.on('data', onData);
      p.once('exit', (code) => { clearTimeout(timer); reject(new Error(`mosquitto exited (${code}):\n${out.slice(-2000)}`)); });
    });
    await ready;
    // "running" is logged once the listener is bound; a connect proves it.
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(); });
      s.once('error', reject);
    });
  };

  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    await exited;
  };
  await launch();
  return {
    port,
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    dir,
    output: () => out,
    kill,
    restart: async (changes) => {
      await kill('SIGKILL');
      if (changes) opts = { ...opts, ...changes };
      out += '\n--- restart ---\n';
      await launch();
    },
    addUser: (user, password) => {
      opts = { ...opts, users: { ...opts.users, [user]: password } };
      execFileSync('mosquitto_passwd', ['-b', path.join(dir, 'passwd'), user, password]);
      proc?.kill('SIGHUP');
    },
    stop: () => kill('SIGTERM'),
  };
}
