// One ModelRuntime per bundle folder per process, shared by every node that names it and
// closed when the last user lets go: twelve nodes must not load twelve copies.
import * as path from 'node:path';
import { ModelRuntime } from './runtime';
import type { PoolOptions } from './pool';

interface Entry { runtime: Promise<ModelRuntime>; users: number }
const open = new Map<string, Entry>();

export function acquireRuntime(dir: string, opts?: PoolOptions): Promise<ModelRuntime> {
  const key = path.resolve(dir);
  let entry = open.get(key);
  if (!entry) {
    entry = { runtime: ModelRuntime.open(key, opts), users: 0 };
    open.set(key, entry);
    // A bundle that failed to load is forgotten so the next deploy tries again.
    entry.runtime.catch(() => { if (open.get(key) === entry) open.delete(key); });
  }
  entry.users++;
  return entry.runtime;
}

export async function releaseRuntime(dir: string): Promise<void> {
  const key = path.resolve(dir);
  const entry = open.get(key);
  if (!entry) return;
  entry.users--;
  if (entry.users > 0) return;
  open.delete(key);
  const runtime = await entry.runtime.catch(() => null);
  await runtime?.close();
}

export function openRuntimeCount(): number {
  return open.size;
}
