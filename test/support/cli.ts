// The split-dnn command line as a user runs it, from the compiled bin/.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const CLI = path.resolve(__dirname, '..', '..', 'bin', 'split-dnn.js');

export function splitDnn(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A command that must succeed, its --json output parsed. */
export function splitDnnJson<T = Record<string, unknown>>(...args: string[]): T {
  const r = splitDnn(...args, '--json');
  if (r.code !== 0) throw new Error(`split-dnn ${args.join(' ')} failed (${r.code}): ${r.err}`);
  return JSON.parse(r.out) as T;
}
