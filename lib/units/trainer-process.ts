// The Python side (models/train/byom/train_units.py, Debian's python3-torch) as a child
// process: JSON progress lines on its stdout, its log on stderr, the result in a file.
import { spawn } from 'node:child_process';
import { promises as fs, existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProgressEvent } from './progress';

export interface TrainerResult {
  conversion: { converted: boolean; maxAbsError?: number; fallback?: string; [k: string]: unknown };
  shipped: Record<string, unknown>[];
  keptFixed: string[];
  search: Record<string, unknown>[];
  seconds: number;
  [k: string]: unknown;
}

export interface TrainerOptions {
  python?: string; nice?: number; signal?: AbortSignal;
  onEvent?: (e: ProgressEvent) => void; onLog?: (line: string) => void;
}

/** models/train/byom/ of this package, from lib/units/ or dist/lib/units/. */
export function trainerScript(): string {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const file = path.join(dir, 'models', 'train', 'byom', 'train_units.py');
    if (existsSync(file)) return file;
  }
  throw new Error(`models/train/byom/train_units.py not found above ${__dirname}`);
}

export function runTrainer(jobFile: string, resultFile: string, opts: TrainerOptions = {}): Promise<TrainerResult> {
  const python = opts.python ?? process.env.SPLIT_DNN_PYTHON ?? '/usr/bin/python3';
  return new Promise((resolve, reject) => {
    const child = spawn(python, [trainerScript(), jobFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (opts.nice && child.pid) os.setPriority(child.pid, opts.nice);
    const tail: string[] = [];
    const onAbort = () => child.kill('SIGTERM');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const lines = (stream: NodeJS.ReadableStream, fn: (line: string) => void) => {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) { fn(buf.slice(0, nl)); buf = buf.slice(nl + 1); }
      });
    };
    lines(child.stdout!, (line) => {
      try { opts.onEvent?.(JSON.parse(line) as ProgressEvent); } catch { opts.onLog?.(line); }
    });
    lines(child.stderr!, (line) => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      opts.onLog?.(line);
    });
    child.on('error', (err) => reject(new Error(`cannot run ${python}: ${err.message} (Debian: apt-get install python3-torch python3-onnx)`)));
    child.on('close', async (code, signal) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.signal?.aborted) { reject(new Error('trainer stopped')); return; }
      if (code !== 0) { reject(new Error(`the trainer failed (${signal ?? `exit ${code}`}):\n${tail.join('\n')}`)); return; }
      try { resolve(JSON.parse(await fs.readFile(resultFile, 'utf8')) as TrainerResult); } catch (err) { reject(err as Error); }
    });
  });
}
