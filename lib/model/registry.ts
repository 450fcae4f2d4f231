// One ModelRuntime per bundle folder per process, shared by every node that names it and
// closed when the last user lets go: twelve nodes must not load twelve copies.
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import { ModelRuntime } from './runtime';
import type { RuntimeOptions } from './runtime';

interface Entry { runtime: Promise<ModelRuntime>; users: number }
const open = new Map<string, Entry>();
/** Loaded runtimes by model id: the edge link reads compact answers with their manifest. */
const byModelId = new Map<string, ModelRuntime>();

/** The manifest of a model loaded in this process, by its id; undefined when none is. */
export function loadedManifest(modelId: string): ModelRuntime['manifest'] | undefined {
  return byModelId.get(modelId)?.manifest;
}

export function acquireRuntime(dir: string, opts?: RuntimeOptions): Promise<ModelRuntime> {
  const key = path.resolve(dir);
  let entry = open.get(key);
  if (!entry) {
    entry = { runtime: ModelRuntime.open(key, opts), users: 0 };
    open.set(key, entry);
    // A bundle that failed to load is forgotten so the next deploy tries again.
    entry.runtime.then((rt) => byModelId.set(rt.modelId, rt), () => { if (open.get(key) === entry) open.delete(key); });
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
  if (runtime && byModelId.get(runtime.modelId) === runtime) byModelId.delete(runtime.modelId);
  await runtime?.close();
}

export function openRuntimeCount(): number {
  return open.size;
}

/**
 * The versions of one model a split-model node holds, keyed by model id, and which one is
 * current. Nodes read `current` once per frame (and pin the frame to that model id), so
 * a switch takes effect between two frames; a tail looks each frame's version up by id,
 * so frames from gateways still on an older version keep decoding.
 */
export interface SlotOutcome { modelId: string; ok: boolean; why?: string }

export class ModelSlot extends EventEmitter {
  private active: ModelRuntime | null = null;
  private readonly versions = new Map<string, { dir: string; runtime: ModelRuntime }>();
  private closed = false;
  /** Errors reported against each version (inference failures, refused frames). */
  readonly errors = new Map<string, number>();

  constructor(private readonly opts: RuntimeOptions = {}, readonly maxVersions = 3) { super(); }

  /** The version frames start on now; throws until one is loaded. */
  get current(): ModelRuntime {
    if (!this.active) throw new Error('no model loaded yet');
    return this.active;
  }

  get hasCurrent(): boolean { return this.active !== null; }

  get(modelId: string): ModelRuntime | undefined { return this.versions.get(modelId)?.runtime; }

  ids(): string[] { return [...this.versions.keys()]; }

  dirOf(modelId: string): string | undefined { return this.versions.get(modelId)?.dir; }

  /** Loads a bundle beside the versions held (verifying every file); does not switch. */
  async load(dir: string): Promise<ModelRuntime> {
    if (this.closed) throw new Error('model slot is closed');
    const runtime = await acquireRuntime(dir, this.opts);
    if (this.versions.has(runtime.modelId)) {
      await releaseRuntime(dir); // already held (under this or another folder)
      return this.versions.get(runtime.modelId)!.runtime;
    }
    this.versions.set(runtime.modelId, { dir: path.resolve(dir), runtime });
    // Too many versions: the oldest that is not current goes.
    for (const id of this.ids()) {
      if (this.versions.size <= this.maxVersions) break;
      if (id !== this.active?.modelId && id !== runtime.modelId) await this.drop(id);
    }
    return runtime;
  }

  /** Makes a loaded version current, for the next frame on; returns the one it replaces. */
  activate(modelId: string): ModelRuntime | null {
    const next = this.versions.get(modelId);
    if (!next) throw new Error(`model ${modelId} is not loaded (held: ${this.ids().join(', ') || 'none'})`);
    const previous = this.active;
    this.active = next.runtime;
    if (previous?.modelId !== modelId) this.emit('switch', next.runtime, previous);
    return previous;
  }

  /** Unloads a version that is not current. */
  async drop(modelId: string): Promise<void> {
    const entry = this.versions.get(modelId);
    if (!entry) return;
    if (this.active?.modelId === modelId) throw new Error(`model ${modelId} is current: switch away before dropping it`);
    this.versions.delete(modelId);
    await releaseRuntime(entry.dir);
  }

  /** What a node saw running a version: probation after a switch listens to these. */
  report(modelId: string, ok: boolean, why?: string): void {
    if (!ok) this.errors.set(modelId, (this.errors.get(modelId) ?? 0) + 1);
    this.emit('outcome', { modelId, ok, why } satisfies SlotOutcome);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.active = null;
    const entries = [...this.versions.values()];
    this.versions.clear();
    await Promise.all(entries.map((e) => releaseRuntime(e.dir)));
  }
}
