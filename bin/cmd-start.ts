// `split-dnn start`: Node-RED embedded with this package's nodes and one of the three
// flows, plus (for the all-in-one demo) an in-process MQTT broker.
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { parseArgs } from './args';
import { buildSettings, dashboardDir, leanCoreExcludes, Role } from '../settings';
import { startEmbeddedBroker, EmbeddedBroker } from '../lib/broker/embedded';
import { sdNotify, Watchdog, httpProbe } from '../lib/health/watchdog';

const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

const USAGE = `usage: split-dnn start [options]

  --role all|edge|cloud   which flow to run (default all: edge + cloud + dashboard + broker)
  --port N                editor and dashboard port (default 1880; 0 = any free port)
  --host ADDR             address to bind (default 127.0.0.1). Any other address needs
                          SPLIT_DNN_ADMIN_PASSWORD(_HASH), which locks editor and dashboard
  --insecure              bind beyond localhost without a password anyway
  --broker URL            MQTT broker (default: an embedded broker for --role all,
                          mqtt://127.0.0.1:1883 otherwise)
  --mqtt-port N           port of the embedded broker (default 1883; 0 = any free port)
  --mqtt-version 4|5      MQTT protocol (default 5; 4 = 3.1.1, forced for the embedded broker)
  --ca-file FILE          CA certificate (PEM) to verify an mqtts:// broker against
  --user-dir DIR          Node-RED user dir (default ~/.split-dnn/<role>)
  --flows FILE            flow file to seed the user dir with (default examples/<role>.json)
  --reset-flows           replace the user dir's flows with the seed flow
  --gateway ID            this gateway's id (default: the host name)
  --bundle DIR            model bundle (default models/fmnist-cnn)
  --fps N                 demo camera frame rate (default 10)
  --coalesce MS           split-link's coalescing budget in the shipped flows (default 1000:
                          fewer bytes; 0: each frame and answer goes at once, lowest latency)
  --profile default|small small: a Raspberry Pi budget (inference inline in one thread,
                          batches of at most 32, status repaints once a second; an edge
                          loads no dashboard and no http request/html/xml/yaml nodes
                          unless its flow has them)
  --watchdog              tell systemd when ready (Type=notify) and keep its watchdog fed
                          while the runtime answers; exit when it stops answering
  --ota-public-key FILE   ed25519 key that model updates must be signed with
                          (default SPLIT_DNN_OTA_PUBLIC_KEY)

Environment: SPLIT_DNN_ADMIN_PASSWORD or SPLIT_DNN_ADMIN_PASSWORD_HASH lock the editor;
SPLIT_DNN_CREDENTIAL_SECRET encrypts stored credentials; SPLIT_DNN_MQTT_USERNAME and
SPLIT_DNN_MQTT_PASSWORD log in to the broker where a split-link has no credentials;
SPLIT_DNN_DASHBOARD_PASSWORD(_HASH) adds a login (SPLIT_DNN_DASHBOARD_USER, default viewer)
that opens the dashboard only.`;

/** Loopback addresses: what may serve the editor without a password. */
const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/** Settings that would expose the runtime or make it silently useless are refused before anything starts. */
async function checkSettings(host: string, insecure: boolean, caFile: string | undefined, env: NodeJS.ProcessEnv): Promise<void> {
  const locked = Boolean(env.SPLIT_DNN_ADMIN_PASSWORD || env.SPLIT_DNN_ADMIN_PASSWORD_HASH);
  if (!isLoopback(host) && !locked && !insecure) {
    throw new Error(`--host ${host} would serve the editor and the dashboard to the network with no login: set SPLIT_DNN_ADMIN_PASSWORD (or SPLIT_DNN_ADMIN_PASSWORD_HASH), or pass --insecure to do it anyway`);
  }
  if (!isLoopback(host) && !locked) console.log(`split-dnn: WARNING: --insecure: the editor and the dashboard on ${host} need no login`);
  if (caFile) {
    await fs.readFile(caFile).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`cannot read CA file ${path.resolve(caFile)} (--ca-file / SPLIT_DNN_CA_FILE): ${err.code ?? err.message}`);
    });
  }
}

const SEED: Record<Role, string> = { all: 'all-in-one.json', edge: 'edge.json', cloud: 'cloud.json' };

function loadNodeRed(): any {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('node-red');
  } catch {
    throw new Error('split-dnn start needs Node-RED 4.1: run `npm install` in the project, or `npm install node-red@4`');
  }
}

async function seedFlows(userDir: string, role: Role, seed: string | undefined, reset: boolean): Promise<string> {
  await fs.mkdir(userDir, { recursive: true });
  const flowFile = path.join(userDir, `flows-${role}.json`);
  const exists = await fs.access(flowFile).then(() => true, () => false);
  if (!exists || reset) await fs.copyFile(seed ?? path.join(PACKAGE_ROOT, 'examples', SEED[role]), flowFile);
  return flowFile;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    role: { type: 'string', default: 'all' },
    port: { type: 'string', default: '1880' },
    host: { type: 'string', default: '127.0.0.1' },
    broker: { type: 'string' },
    'mqtt-port': { type: 'string', default: '1883' },
    'mqtt-version': { type: 'string' },
    'ca-file': { type: 'string' },
    'user-dir': { type: 'string' },
    flows: { type: 'string' },
    'reset-flows': { type: 'boolean', default: false },
    gateway: { type: 'string' },
    bundle: { type: 'string' },
    fps: { type: 'string' }, coalesce: { type: 'string' },
    profile: { type: 'string', default: 'default' },
    watchdog: { type: 'boolean', default: false },
    'ota-public-key': { type: 'string' },
    insecure: { type: 'boolean', default: false },
  }, USAGE);
  if (args.help) { console.log(USAGE); return 0; }
  const role = String(args.role) as Role;
  if (!(role in SEED)) throw new Error(`--role must be all, edge or cloud, not "${role}"`);
  const profile = String(args.profile);
  if (profile !== 'default' && profile !== 'small') throw new Error(`--profile must be default or small, not "${profile}"`);
  if (profile === 'small') process.env.SPLIT_DNN_REPAINT_MS ??= '1000';

  await checkSettings(String(args.host), Boolean(args.insecure), (args['ca-file'] as string | undefined) ?? process.env.SPLIT_DNN_CA_FILE, process.env);

  let broker: EmbeddedBroker | null = null;
  let brokerUrl = args.broker as string | undefined;
  if (!brokerUrl && role === 'all') {
    broker = await startEmbeddedBroker(Number(args['mqtt-port'])).catch((err: NodeJS.ErrnoException) => {
      // A system mosquitto often holds 1883 already; the demo only needs some local port.
      if (err.code !== 'EADDRINUSE' || argv.includes('--mqtt-port')) throw err;
      console.log(`split-dnn: port ${args['mqtt-port']} is taken (another broker?); using a free port`);
      return startEmbeddedBroker(0);
    });
    brokerUrl = broker.url;
    console.log(`split-dnn: embedded broker on ${broker.url}`);
  }
  // Flows read these through Node-RED's ${ENV} substitution in node properties.
  process.env.SPLIT_DNN_BROKER = brokerUrl ?? process.env.SPLIT_DNN_BROKER ?? 'mqtt://127.0.0.1:1883';
  process.env.SPLIT_DNN_GATEWAY = (args.gateway as string | undefined) ?? process.env.SPLIT_DNN_GATEWAY ?? os.hostname().replace(/[^A-Za-z0-9._-]/g, '-');
  process.env.SPLIT_DNN_BUNDLE = (args.bundle as string | undefined) ?? process.env.SPLIT_DNN_BUNDLE ?? 'models/fmnist-cnn';
  // aedes speaks MQTT 3.1.1 only.
  process.env.SPLIT_DNN_MQTT_VERSION = broker ? '4' : (args['mqtt-version'] as string | undefined) ?? process.env.SPLIT_DNN_MQTT_VERSION ?? '5';
  process.env.SPLIT_DNN_CA_FILE = (args['ca-file'] as string | undefined) ?? process.env.SPLIT_DNN_CA_FILE ?? '';
  process.env.SPLIT_DNN_FPS = (args.fps as string | undefined) ?? process.env.SPLIT_DNN_FPS ?? '10';
  if (args.coalesce !== undefined) process.env.SPLIT_DNN_COALESCE_MS = String(args.coalesce);
  // Update groups this runtime takes offers for besides its own id (split-ota).
  process.env.SPLIT_DNN_GROUPS ??= role === 'cloud' ? 'tails' : '';
  if (args['ota-public-key']) process.env.SPLIT_DNN_OTA_PUBLIC_KEY = path.resolve(String(args['ota-public-key']));

  const userDir = path.resolve((args['user-dir'] as string | undefined) ?? path.join(os.homedir(), '.split-dnn', role));
  const flowFile = await seedFlows(userDir, role, args.flows as string | undefined, Boolean(args['reset-flows']));
  // Better a clear word now than Node-RED waiting for missing ui-* types.
  const parsed: unknown = JSON.parse(await fs.readFile(flowFile, 'utf8').catch(() => '[]'));
  const flow = (Array.isArray(parsed) ? parsed : []) as { type?: string; path?: string }[];
  const dashboard = flow.some((n) => n.type?.startsWith('ui-'));
  if (dashboard && !dashboardDir(PACKAGE_ROOT)) {
    throw new Error('this flow has Dashboard 2.0 nodes (ui-*): install them with `npm install @flowfuse/node-red-dashboard@1`');
  }
  const RED = loadNodeRed();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const express = require('express');
  const app = express();
  const server = http.createServer(app);
  // A small edge whose flow has no ui-* node loads no dashboard: Dashboard 2.0's modules cost
  // tens of MB of heap (a dashboard flow imported later needs the default profile).
  // Likewise the core nodes with the heaviest libraries (http request, html, xml, yaml), unless the flow uses them.
  const lean = profile === 'small' && role === 'edge';
  const settings = buildSettings({
    role, userDir, flowFile, packageRoot: PACKAGE_ROOT, profile,
    dashboard: lean && !dashboard ? false : undefined,
    coreExcludes: lean ? leanCoreExcludes(flow.map((n) => String(n.type))) : undefined,
  });
  RED.init(server, settings);
  app.use('/', RED.httpAdmin);
  app.use('/', RED.httpNode);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(args.port), String(args.host), () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  await RED.start();
  const url = `http://${args.host}:${port}`;
  const metrics = flow.find((n) => n.type === 'split-stats' && n.path)?.path;
  console.log(`split-dnn: ${role} runtime, editor on ${url}/${dashboard ? ` , dashboard on ${url}/dashboard` : ''}${metrics ? ` , metrics on ${url}${metrics}` : ''}`);

  const watchdog = args.watchdog ? new Watchdog({ probe: httpProbe(`http://${args.host === '0.0.0.0' || args.host === '::' ? '127.0.0.1' : args.host}:${port}/`) }) : null;
  if (watchdog) {
    const ready = await sdNotify('READY=1', `STATUS=${role} runtime on ${url}`);
    console.log(`split-dnn: watchdog on (every ${watchdog.intervalMs} ms)${ready ? ', told systemd we are ready' : process.env.NOTIFY_SOCKET ? ', systemd-notify failed' : ', not under systemd'}`);
  }

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('split-dnn: stopping');
    void sdNotify('STOPPING=1');
    // Closing the flows flushes the outbox to disk and says goodbye on the broker; a
    // shutdown that hangs must still end before systemd's TimeoutStopSec kills it.
    setTimeout(() => { console.log('split-dnn: shutdown took too long; exiting'); process.exit(1); }, 20_000).unref();
    await watchdog?.stop();
    await RED.stop().catch(() => undefined);
    console.log('split-dnn: flows stopped, outbox flushed');
    server.close();
    await broker?.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  return new Promise<number>(() => undefined);
}
