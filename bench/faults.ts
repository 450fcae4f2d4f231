// `npm run bench -- faults --json`: the fault scenarios of test/faults.test.ts at full size.
// mosquitto, `--tails` cloud runtimes in the shared group and one gateway per scenario, all
// real `split-dnn start` processes; each scenario reports frames expected, delivered, lost
// and duplicated at the gateway's mqtt-transmit output, and how long it took.
// Options: --frames N (per streaming scenario, default 5000), --fps N (default 200),
// --backlog N (outbox backlog at the gateway kill, default 10000), --tails N (default 3).
import * as os from 'node:os';
import { startFleet, steady, brokerKill, brokerDown, linkBlackhole, tailKill, gatewayKill, FaultReport } from '../test/support/faults';
import { BUNDLE } from '../test/support/paths';
import { loadBundle } from '../lib/model';
import { flag } from './flags';

export async function run(args: string[]): Promise<unknown> {
  const frames = Number(flag(args, 'frames') ?? 5000);
  const fps = Number(flag(args, 'fps') ?? 200);
  const backlog = Number(flag(args, 'backlog') ?? 10_000);
  const tails = Number(flag(args, 'tails') ?? 3);
  const fleet = await startFleet(tails);
  const scenarios: FaultReport[] = [];
  try {
    const stream = { frames, fps };
    scenarios.push(await steady(fleet, stream));
    scenarios.push(await brokerKill(fleet, { ...stream, downMs: 2000 }));
    scenarios.push(await brokerDown(fleet, { ...stream, downMs: 10_000 }));
    scenarios.push(await linkBlackhole(fleet, { ...stream, downMs: 10_000, keepalive: 2 }));
    scenarios.push(await tailKill(fleet, { ...stream, resendAfter: 2 }));
    scenarios.push(await gatewayKill(fleet, { backlog, fps: 500 }));
  } finally {
    await fleet.stop();
  }
  const manifest = (await loadBundle(BUNDLE)).manifest;
  return {
    bench: 'faults', bundle: `${manifest.name} ${manifest.version}`, tails, fps,
    machine: { cpus: os.availableParallelism(), node: process.version, broker: 'mosquitto (Debian)' },
    ok: scenarios.every((s) => s.lost === 0 && s.duplicates === 0 && s.unexpected === 0),
    scenarios,
  };
}
