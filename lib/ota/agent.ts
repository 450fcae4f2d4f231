// The gateway's update agent: hears offers for itself or its groups, downloads the bundle
// into staging, verifies the ed25519 signature with the pinned key and every sha256,
// loads it beside the running version, runs the sample check, switches between two
// frames, watches the new version on probation and commits it, or rolls back to the
// old one on errors. A tail runs the same agent in "add" mode: the new version is loaded
// beside the old ones and nothing is switched, so every gateway's frames keep decoding.
// Any failed step refuses the version (remembered, never retried) and the old one serves on.
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { ModelSlot, SlotOutcome } from '../model/registry';
import { loadBundle } from '../model/bundle';
import type { Frame } from '../wire';
import { topics } from '../link/topics';
import { decodeChunk, Offer, OfferError, parseOffer } from './offer';
import { Download, DownloadOptions, httpTransport } from './download';
import { verifyBundleSignature } from './signing';
import { sampleCheck, SampleCheckOptions } from './sample-check';
import { installDir, OtaState, readState, stagingDir, writeState } from './state';

/** The part of a link the agent needs: EdgeLink and CloudLink both are one. */
export interface ControlChannel extends EventEmitter {
  readonly gateway: string;
  readonly connected: boolean;
  watch(filter: string): void;
  publishControl(topic: string, payload: string | Buffer, retain?: boolean): Promise<void>;
}

export interface ProbationOptions {
  /** Answers without error that prove the new version (default 20). */
  answers?: number;
  /** Commit after this long without too many errors, even with few answers (default 30 s). */
  ms?: number;
  /** Errors on probation that roll it back (default 3). */
  maxErrors?: number;
}

export interface AgentOptions {
  channel: ControlChannel;
  slot: ModelSlot;
  /** Which split-model this is (its configured bundle folder): the key in state.json. */
  slotKey: string;
  stateDir: string;
  publicKey: KeyObject | null;
  mode?: 'switch' | 'add';
  groups?: string[];
  probation?: ProbationOptions;
  sampleCheck?: SampleCheckOptions;
  download?: DownloadOptions;
  /** How long a replaced version stays loaded for frames still in the pipeline (default 5 s). */
  graceMs?: number;
}

export type Phase = 'idle' | 'downloading' | 'verifying' | 'checking' | 'probation';

export interface OtaReport {
  modelId: string; version: string; name: string;
  state: 'downloading' | 'verified' | 'switched' | 'committed' | 'added' | 'refused' | 'rolled-back' | 'current';
  reason?: string; step?: string; from?: string; progress?: unknown; check?: unknown; at: number;
}

class Refusal extends Error {
  constructor(readonly step: string, message: string) { super(message); }
}

export class OtaAgent extends EventEmitter {
  private phase: Phase = 'idle';
  private offer: Offer | null = null;
  private next: Offer | null = null;
  private download: Download | null = null;
  private lastReport: OtaReport | null = null;
  private lastProgressAt = 0;
  private closed = false;
  private readonly detach: (() => void)[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private endProbation: ((verdict: { ok: boolean; why?: string }) => void) | null = null;

  constructor(private readonly opts: AgentOptions) { super(); }

  get mode(): 'switch' | 'add' { return this.opts.mode ?? 'switch'; }
  get gateway(): string { return this.opts.channel.gateway; }

  status(): { phase: Phase; modelId?: string; version?: string; progress?: unknown; last?: OtaReport | null } {
    return { phase: this.phase, modelId: this.offer?.modelId, version: this.offer?.version, progress: this.download?.progress(), last: this.lastReport };
  }

  start(): void {
    const state = readState(this.opts.stateDir);
    if (state.pending?.slot === this.opts.slotKey) {
      // We were on probation when the runtime went down: that version does not come back.
      state.refused[state.pending.modelId] = 'the runtime restarted while this version was on probation';
      state.pending = null;
      writeState(this.opts.stateDir, state);
    }
    const ch = this.opts.channel;
    const on = (target: EventEmitter, event: string, fn: (...a: any[]) => void) => { target.on(event, fn); this.detach.push(() => target.off(event, fn)); };
    on(ch, 'control', (topic: string, payload: Buffer) => this.onControl(topic, payload));
    on(ch, 'state', (s: string) => { if (s === 'connected' && this.lastReport) this.publish(this.lastReport); });
    on(ch, 'answer', (f: Frame) => this.onOutcome({ modelId: f.modelId, ok: !f.body?.error, why: f.body?.error ? String(f.body.error) : undefined }));
    on(this.opts.slot, 'outcome', (o: SlotOutcome) => this.onOutcome(o));
    for (const t of [topics.otaOffer(this.gateway), ...(this.opts.groups ?? []).map(topics.otaGroupOffer), topics.otaChunk(this.gateway)]) ch.watch(t);
  }

  private onControl(topic: string, payload: Buffer): void {
    if (this.closed) return;
    if (topic === topics.otaChunk(this.gateway)) {
      try {
        const { header, data } = decodeChunk(payload);
        this.download?.receive(header, data);
      } catch { /* a malformed chunk is ignored; the stall timer asks again */ }
      return;
    }
    if (!topic.endsWith('/ota/offer') || payload.length === 0) return; // an empty retained offer = withdrawn
    let offer: Offer;
    try {
      offer = parseOffer(payload);
    } catch (err) {
      this.report({ modelId: '0000000000000000', version: '?', name: '?', state: 'refused', step: 'offer', reason: (err as OfferError).message });
      return;
    }
    this.consider(offer);
  }

  private consider(offer: Offer): void {
    const state = readState(this.opts.stateDir);
    const held = this.mode === 'switch' ? this.opts.slot.hasCurrent && this.opts.slot.current.modelId === offer.modelId : !!this.opts.slot.get(offer.modelId);
    if (held) { this.report({ ...about(offer), state: 'current' }); return; }
    if (state.refused[offer.modelId] || this.offer?.modelId === offer.modelId || this.next?.modelId === offer.modelId) return;
    if (this.phase === 'idle') { void this.apply(offer); return; }
    // A newer offer while downloading replaces that download; later steps finish first.
    this.next = offer;
    if (this.phase === 'downloading') this.download?.cancel();
  }

  private async apply(offer: Offer): Promise<void> {
    this.offer = offer;
    const { stateDir } = this.opts;
    const staging = stagingDir(stateDir, this.gateway, offer.modelId);
    try {
      if (!this.opts.publicKey) throw new Refusal('signature', 'no signing key is pinned in this runtime\'s settings: updates are refused');
      this.phase = 'downloading';
      fs.mkdirSync(staging, { recursive: true });
      fs.writeFileSync(`${staging}.offer.json`, JSON.stringify(offer));
      await this.fetch(offer, staging);
      this.phase = 'verifying';
      const sig = await verifyBundleSignature(staging, this.opts.publicKey).catch((err: Error) => { throw new Refusal('signature', err.message); });
      const bundle = await loadBundle(staging).catch((err: Error) => { throw new Refusal('hashes', err.message); });
      if (bundle.modelId !== offer.modelId) throw new Refusal('hashes', `offered as model ${offer.modelId}, the manifest is ${bundle.modelId}`);
      this.report({ ...about(offer), state: 'verified', reason: `signed by key ${sig.keyId}` });
      const dir = installDir(stateDir, this.gateway, offer.modelId);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(installDir(stateDir, this.gateway, ''), { recursive: true });
      fs.renameSync(staging, dir);
      fs.rmSync(`${staging}.offer.json`, { force: true });
      this.phase = 'checking';
      const rt = await this.opts.slot.load(dir).catch((err: Error) => { throw new Refusal('load', err.message); });
      const check = await sampleCheck(rt, this.opts.sampleCheck).catch((err: Error) => ({ passed: false, reason: err.message, rates: [], count: 0, ms: 0 }));
      if (!check.passed) {
        await this.opts.slot.drop(offer.modelId);
        throw new Refusal('sample-check', `sample check failed: ${check.reason}`);
      }
      if (this.mode === 'add') this.commitAdded(offer, dir);
      else await this.switchTo(offer, dir, check);
    } catch (err) {
      const step = err instanceof Refusal ? err.step : this.phase;
      if (this.closed) return;
      if (this.next && step === 'downloading') { /* replaced by a newer offer: the bytes stay for a resume */ } else {
        this.refuse(offer, step, (err as Error).message);
        fs.rmSync(staging, { recursive: true, force: true });
        fs.rmSync(`${staging}.offer.json`, { force: true });
        if (this.opts.slot.get(offer.modelId) === undefined) fs.rmSync(installDir(stateDir, this.gateway, offer.modelId), { recursive: true, force: true });
      }
    } finally {
      this.phase = 'idle';
      this.offer = null;
      this.download = null;
      const next = this.next;
      this.next = null;
      if (next && !this.closed) this.consider(next);
    }
  }

  private async fetch(offer: Offer, staging: string): Promise<void> {
    const ch = this.opts.channel;
    const transport = offer.url
      ? httpTransport(offer.url, (h, d) => this.download?.receive(h, d))
      : { request: (req: object) => { ch.publishControl(topics.otaFetch(this.gateway), JSON.stringify(req)).catch(() => undefined); } };
    const dl = new Download(offer, staging, transport, this.opts.download);
    this.download = dl;
    dl.on('progress', (p) => {
      if (Date.now() - this.lastProgressAt < 1000 && p.bytes < p.total) return;
      this.lastProgressAt = Date.now();
      this.report({ ...about(offer), state: 'downloading', progress: p });
    });
    await dl.run();
    this.report({ ...about(offer), state: 'downloading', progress: dl.progress() });
  }

  private async switchTo(offer: Offer, dir: string, check: unknown): Promise<void> {
    const { slot, stateDir, slotKey } = this.opts;
    const state = readState(stateDir);
    state.pending = { slot: slotKey, modelId: offer.modelId };
    writeState(stateDir, state);
    const previous = slot.activate(offer.modelId);
    this.phase = 'probation';
    this.report({ ...about(offer), state: 'switched', from: previous?.modelId, check });
    const verdict = await this.probation();
    if (this.closed) return;
    const s = readState(stateDir);
    s.pending = null;
    if (verdict.ok) {
      const entry = s.slots[slotKey] ?? {};
      s.slots[slotKey] = { ...entry, active: { modelId: offer.modelId, dir, version: offer.version }, previous: entry.active };
      writeState(stateDir, s);
      this.report({ ...about(offer), state: 'committed', from: previous?.modelId });
      if (previous) this.later(() => slot.drop(previous.modelId).catch(() => undefined));
      this.prune(s);
    } else {
      if (previous) slot.activate(previous.modelId);
      s.refused[offer.modelId] = verdict.why ?? 'errors on probation';
      writeState(stateDir, s);
      this.report({ ...about(offer), state: 'rolled-back', step: 'probation', reason: verdict.why, from: previous?.modelId });
      this.later(async () => {
        await slot.drop(offer.modelId).catch(() => undefined);
        fs.rmSync(dir, { recursive: true, force: true });
      });
    }
  }

  private probation(): Promise<{ ok: boolean; why?: string }> {
    const p = { answers: 20, ms: 30_000, maxErrors: 3, ...this.opts.probation };
    let ok = 0;
    let errors = 0;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish({ ok: true }), p.ms);
      const finish = (v: { ok: boolean; why?: string }) => { clearTimeout(timer); this.endProbation = null; resolve(v); };
      this.endProbation = (o) => {
        if (o.ok && ++ok >= p.answers) finish({ ok: true });
        if (!o.ok && ++errors >= p.maxErrors) finish({ ok: false, why: `${errors} errors on probation, the last: ${o.why ?? 'unknown'}` });
      };
    });
  }

  private onOutcome(o: SlotOutcome): void {
    if (this.phase === 'probation' && o.modelId === this.offer?.modelId) this.endProbation?.({ ok: o.ok, why: o.why });
  }

  private commitAdded(offer: Offer, dir: string): void {
    const s = readState(this.opts.stateDir);
    const entry = s.slots[this.opts.slotKey] ?? {};
    const extra = [...(entry.extra ?? []).filter((i) => this.opts.slot.get(i.modelId)), { modelId: offer.modelId, dir, version: offer.version }];
    s.slots[this.opts.slotKey] = { ...entry, extra };
    writeState(this.opts.stateDir, s);
    this.report({ ...about(offer), state: 'added', reason: `holding ${this.opts.slot.ids().length} versions` });
  }

  /** Installed folders that are neither current nor the fallback before it go. */
  private prune(s: OtaState): void {
    const keep = new Set<string>();
    for (const e of Object.values(s.slots)) for (const i of [e.active, e.previous, ...(e.extra ?? [])]) if (i) keep.add(i.modelId);
    const root = installDir(this.opts.stateDir, this.gateway, '');
    for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) if (!keep.has(id)) fs.rmSync(installDir(this.opts.stateDir, this.gateway, id), { recursive: true, force: true });
  }

  private refuse(offer: Offer, step: string, reason: string): void {
    const s = readState(this.opts.stateDir);
    s.refused[offer.modelId] = `${step}: ${reason}`;
    writeState(this.opts.stateDir, s);
    this.report({ ...about(offer), state: 'refused', step, reason });
  }

  /** Resumes a download a kill interrupted, from the offer saved beside its staging folder. */
  resumeStaged(): void {
    const root = stagingDir(this.opts.stateDir, this.gateway, '');
    if (!fs.existsSync(root)) return;
    for (const name of fs.readdirSync(root).filter((n) => n.endsWith('.offer.json'))) {
      try { this.consider(parseOffer(fs.readFileSync(`${root}/${name}`))); } catch { fs.rmSync(`${root}/${name}`, { force: true }); }
    }
  }

  private later(fn: () => unknown): void {
    const t = setTimeout(() => { this.timers.delete(t); fn(); }, this.opts.graceMs ?? 5000);
    this.timers.add(t);
  }

  private report(r: Omit<OtaReport, 'at'>): void {
    const full = { ...r, at: Date.now() } as OtaReport;
    this.lastReport = full;
    this.emit('report', full);
    this.publish(full);
  }

  private publish(r: OtaReport): void {
    if (this.opts.channel.connected) this.opts.channel.publishControl(topics.otaReport(this.gateway), JSON.stringify(r)).catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.phase === 'probation') {
      // A clean stop is no verdict: the committed version runs after the restart, and the
      // retained offer brings this one back to try again.
      const s = readState(this.opts.stateDir);
      s.pending = null;
      writeState(this.opts.stateDir, s);
    }
    this.closed = true;
    this.download?.cancel();
    this.endProbation?.({ ok: false, why: 'closing' });
    for (const off of this.detach.splice(0)) off();
    // Pending drops run now: the slot closes with the node anyway.
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

const about = (o: Offer) => ({ modelId: o.modelId, version: o.version, name: o.name });
