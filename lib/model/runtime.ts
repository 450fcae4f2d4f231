// The ORT side of one bundle: a pool whose threads hold the head, tail and every rate's
// encoder and decoder, with typed calls that speak in flat Float32Arrays and batch sizes.
import { Bundle, loadBundle } from './bundle';
import { InferencePool, PoolModel, PoolOptions } from './pool';
import { InferenceError, Tensor } from './tensor';
import type { Manifest } from './manifest';

/** A runtime that serves one side loads the other side's sessions only if they are ever run. */
export interface RuntimeOptions extends PoolOptions { role?: 'edge' | 'cloud' | 'all' }

export interface HeadOutput { features: Float32Array; exitLogits: Float32Array | null }

const dimsOf = (m: Manifest, n: number) => ({
  input: [n, ...m.input.shape.slice(1)],
  split: [n, ...m.split.shape],
});

export class ModelRuntime {
  private constructor(readonly bundle: Bundle, readonly pool: InferencePool) {}

  get manifest(): Manifest { return this.bundle.manifest; }
  get modelId(): string { return this.bundle.modelId; }

  static async open(dir: string, opts: RuntimeOptions = {}): Promise<ModelRuntime> {
    const bundle = await loadBundle(dir);
    const m = bundle.manifest;
    const batchInput = [-1, ...m.input.shape.slice(1)];
    const split = [-1, ...m.split.shape];
    // A model exported with batch 1 (tf2onnx does) has a head and tail fixed at 1 too; the
    // units are the project's own and take any batch.
    const maxBatch = m.input.batch === 1 ? 1 : undefined;
    const models: PoolModel[] = [
      { key: 'head', file: bundle.file(m.head.file), inputs: { [m.head.input]: batchInput }, maxBatch },
      { key: 'tail', file: bundle.file(m.tail.file), inputs: { [m.tail.input]: split }, maxBatch },
    ];
    for (const r of m.rates) {
      models.push({ key: `enc${r.level}`, file: bundle.file(r.encoder.file), inputs: { [r.encoder.input]: split } });
      models.push({ key: `dec${r.level}`, file: bundle.file(r.decoder.file), inputs: { [r.decoder.input]: [-1, ...r.symbolShape] } });
    }
    const other = opts.role === 'edge' ? /^(tail|dec\d+)$/ : opts.role === 'cloud' ? /^(head|enc\d+)$/ : null;
    const pool = new InferencePool(models, { ...opts, lazy: other ? models.map((x) => x.key).filter((k) => other.test(k)) : opts.lazy });
    try {
      await pool.ready;
    } catch (err) {
      await pool.close();
      throw err;
    }
    return new ModelRuntime(bundle, pool);
  }

  private rate(level: number) {
    const r = this.manifest.rates[level];
    if (!r) throw new InferenceError('BAD_INPUT', `rate level ${level} does not exist (bundle has 0..${this.manifest.rates.length - 1})`);
    return r;
  }

  /**
   * One pool run, or — for a model fixed at batch 1 given n > 1 samples (eval, the OTA
   * sample check) — n runs of one sample whose outputs are joined again in order.
   */
  private async runSamples(model: 'head' | 'tail', input: string, t: Tensor): Promise<Record<string, Tensor>> {
    const n = t.dims[0];
    if (this.manifest.input.batch !== 1 || n <= 1) return this.pool.run(model, { [input]: t });
    const per = t.data.length / n;
    const parts = await Promise.all(Array.from({ length: n }, (_, i) =>
      this.pool.run(model, { [input]: { data: t.data.subarray(i * per, (i + 1) * per), dims: [1, ...t.dims.slice(1)] } })));
    const joined: Record<string, Tensor> = {};
    for (const name of Object.keys(parts[0])) {
      const data = new Float32Array(parts.reduce((k, p) => k + p[name].data.length, 0));
      parts.reduce((at, p) => { data.set(p[name].data, at); return at + p[name].data.length; }, 0);
      joined[name] = { data, dims: [n, ...parts[0][name].dims.slice(1)] };
    }
    return joined;
  }

  private async one(model: string, input: string, t: Tensor, output: string): Promise<Float32Array> {
    const out = model === 'head' || model === 'tail' ? await this.runSamples(model, input, t) : await this.pool.run(model, { [input]: t });
    const value = out[output];
    if (!value) throw new InferenceError('ORT_RUN', `${model} produced no output "${output}"`);
    return value.data;
  }

  /** Preprocessed input [n, ...] (the model's layout) → split tensor and (if the bundle has one) exit logits. */
  async head(input: Float32Array, n: number): Promise<HeadOutput> {
    const m = this.manifest;
    const out = await this.runSamples('head', m.head.input, { data: input, dims: dimsOf(m, n).input });
    if (!out[m.head.features]) throw new InferenceError('ORT_RUN', `head produced no output "${m.head.features}"`);
    return { features: out[m.head.features].data, exitLogits: m.head.exitLogits ? out[m.head.exitLogits]?.data ?? null : null };
  }

  /** Every output of the tail, batched ([n, ...] each), for tasks that read more than logits. */
  tailOutputs(features: Float32Array, n: number): Promise<Record<string, Tensor>> {
    const m = this.manifest;
    return this.runSamples('tail', m.tail.input, { data: features, dims: dimsOf(m, n).split });
  }

  tail(features: Float32Array, n: number): Promise<Float32Array> {
    const m = this.manifest;
    return this.one('tail', m.tail.input, { data: features, dims: dimsOf(m, n).split }, m.tail.logits);
  }

  /** Split tensor → the rate's latent, before quantization. */
  encode(level: number, features: Float32Array, n: number): Promise<Float32Array> {
    const r = this.rate(level);
    return this.one(`enc${level}`, r.encoder.input, { data: features, dims: dimsOf(this.manifest, n).split }, r.encoder.output);
  }

  /** Dequantized latent → reconstructed split tensor. */
  decode(level: number, latent: Float32Array, n: number): Promise<Float32Array> {
    const r = this.rate(level);
    return this.one(`dec${level}`, r.decoder.input, { data: latent, dims: [n, ...r.symbolShape] }, r.decoder.output);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
