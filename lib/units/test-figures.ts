// The finished bundle on the held-out test images: every level through the real coder,
// the exit at each calibrated threshold, agreement with the original model. Recorded in
// the manifest next to the validation figures the choice was made on.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ModelRuntime } from '../model/runtime';
import type { Manifest } from '../model/manifest';
import { evaluate } from '../eval/evaluate';

export interface TestFigures {
  count: number;
  rates: { level: number; name: string; agreement: number; codedBytes: number; idealBytes: number }[];
  exit: { threshold: number; exitRate: number; exitAgreement: number; agreement: number }[];
  exitDefault: { threshold: number; exitRate: number; exitAgreement: number; agreement: number } | null;
}

const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

export async function measuredOnTest(dir: string, frames: Uint8Array, answers: Int32Array, count: number, extra: (m: Manifest) => Manifest): Promise<TestFigures> {
  const rt = await ModelRuntime.open(dir, { workers: 1 });
  let report;
  try {
    report = await evaluate(rt, { images: frames, labels: answers, count });
  } finally {
    await rt.close();
  }
  const file = path.join(dir, 'manifest.json');
  const m = JSON.parse(await fs.readFile(file, 'utf8')) as Manifest;
  const rates = report.rates.map((r) => ({ level: r.level, name: r.name, agreement: r6(r.accuracy), codedBytes: r6(r.codedBytes), idealBytes: r6(r.idealBytes) }));
  const exit = report.calibration.map((c) => ({ threshold: c.threshold, exitRate: r6(c.exitRate), exitAgreement: r6(c.exitAccuracy), agreement: r6(c.accuracy) }));
  const exitDefault = exit.find((c) => c.threshold === m.exit?.defaultThreshold) ?? null;
  for (const r of rates) m.rates[r.level].measured = { ...(m.rates[r.level].measured ?? {}), test: { count, agreement: r.agreement, codedBytes: r.codedBytes, idealBytes: r.idealBytes } };
  if (m.exit) (m.exit as Record<string, unknown>).test = { count, calibration: exit };
  await fs.writeFile(file, `${JSON.stringify(extra(m), null, 2)}\n`);
  return { count, rates, exit, exitDefault };
}
