// What a runtime remembers about updates across restarts, in <userDir>/ota/state.json:
// which installed version each model slot runs (so a reboot keeps the update), which
// versions a tail holds beside it, which versions were refused (never retried), and the
// version on probation, if any: a restart during probation means that version crashed
// the runtime, so it is refused and the committed one runs — an A/B switch in one file.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Installed { modelId: string; dir: string; version?: string }

export interface OtaState {
  slots: Record<string, { active?: Installed; previous?: Installed; extra?: Installed[] }>;
  refused: Record<string, string>;
  pending: { slot: string; modelId: string } | null;
}

export const otaDir = (userDir: string) => path.join(userDir, 'ota');
// Per agent (a gateway and a tail may share one runtime and so one state file).
export const stagingDir = (stateDir: string, agent: string, modelId: string) => path.join(stateDir, agent, 'staging', modelId);
export const installDir = (stateDir: string, agent: string, modelId: string) => path.join(stateDir, agent, 'bundles', modelId);

const FILE = 'state.json';

export function readState(stateDir: string): OtaState {
  try {
    const s = JSON.parse(fs.readFileSync(path.join(stateDir, FILE), 'utf8')) as Partial<OtaState>;
    return { slots: s.slots ?? {}, refused: s.refused ?? {}, pending: s.pending ?? null };
  } catch {
    return { slots: {}, refused: {}, pending: null };
  }
}

/** Written to a temporary file, synced and renamed: a kill leaves the old state or the new, never half. */
export function writeState(stateDir: string, state: OtaState): void {
  fs.mkdirSync(stateDir, { recursive: true });
  const file = path.join(stateDir, FILE);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  fs.writeSync(fd, `${JSON.stringify(state, null, 2)}\n`);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

/**
 * The bundle folders a split-model node should load, current first: the committed update
 * for its slot (if any, and still on disk), then the versions a tail holds beside it,
 * then the configured folder as the fallback.
 */
export function bundlesToLoad(stateDir: string, slot: string, configured: string): { current: string[]; beside: string[] } {
  const s = readState(stateDir);
  const entry = s.slots[slot];
  const exists = (i?: Installed) => !!i && fs.existsSync(path.join(i.dir, 'manifest.json'));
  const current = [...(exists(entry?.active) ? [entry!.active!.dir] : []), configured];
  const beside = (entry?.extra ?? []).filter(exists).map((i) => i.dir);
  return { current, beside };
}
