// Node-RED runtimes as separate processes, started through the real command line.
import { spawn, ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { DIST } from './paths';

export interface Runtime {
  proc: ChildProcess;
  port: number;
  output: () => string;
  /** Resolves when the output matches, or rejects after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves when the output holds `count` matches of a (global) pattern. */
  waitForCount(pattern: RegExp, count: number, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

// A test that fails (or a bench that is interrupted) must not leave runtimes behind.
const children = new Set<ChildProcess>();
process.once('exit', () => { for (const c of children) c.kill('SIGKILL'); });

/**
 * `split-dnn start` with args; `wrap` runs it through another command first (the link
 * bench passes `ip netns exec <ns>` to start it inside a network namespace).
 */
export async function startRuntime(args: string[], env: Record<string, string> = {}, wrap: string[] = []): Promise<Runtime> {
  const command = [...wrap, process.execPath, path.join(DIST, 'bin', 'split-dnn.js'), 'start', '--port', '0', ...args];
  const proc = spawn(command[0], command.slice(1), {
    env: { ...process.env, SPLIT_DNN_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => { out += d.toString(); for (const l of listeners) l(); };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  children.add(proc);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => { children.delete(proc); resolve(code); }));
  const waitUntil = <T>(test: () => T | null, what: string, timeoutMs: number) => new Promise<T>((resolve, reject) => {
    const check = () => {
      const m = test();
      if (m) { listeners.delete(check); clearTimeout(timer); resolve(m); }
    };
    const timer = setTimeout(() => { listeners.delete(check); reject(new Error(`timed out waiting for ${what}; output:\n${out.slice(-3000)}`)); }, timeoutMs);
    listeners.add(check);
    check();
  });
  const waitFor = (pattern: RegExp, timeoutMs = 30_000) => waitUntil(() => out.match(pattern), String(pattern), timeoutMs);
  const waitForCount = (pattern: RegExp, count: number, timeoutMs = 30_000) =>
    waitUntil(() => ((out.match(pattern) ?? []).length >= count ? true : null), `${count} × ${pattern}`, timeoutMs).then(() => undefined);
  const m = await waitFor(/editor on http:\/\/[\d.]+:(\d+)\//);
  return {
    proc, port: Number(m[1]), output: () => out, waitFor, waitForCount,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
}
