// The rate-accuracy figure as a self-contained SVG (no plotting library on the machines):
// bytes per frame on a log axis against accuracy, one colour and line per kind of point.

export interface RatePoint {
  kind: 'unit' | 'exit' | 'png' | 'webp' | 'jpeg' | 'raw' | 'float32' | 'int8';
  label: string;
  bytes: number;
  accuracy: number;
}

const STYLE: Record<RatePoint['kind'], { colour: string; name: string }> = {
  unit: { colour: '#1f77b4', name: 'bottleneck units (every frame sent)' },
  exit: { colour: '#2ca02c', name: 'early exit + the middle unit (bytes per input)' },
  webp: { colour: '#ff7f0e', name: 'WebP offload, q10–q90 (whole model in the cloud)' },
  png: { colour: '#d62728', name: 'PNG offload' },
  jpeg: { colour: '#8c564b', name: 'JPEG offload (whole model in the cloud)' },
  raw: { colour: '#7f7f7f', name: 'raw pixels offload' },
  float32: { colour: '#9467bd', name: 'split tensor as float32' },
  int8: { colour: '#17becf', name: 'split tensor, 8-bit coded' },
};

const W = 760;
const H = 440;
const M = { left: 64, right: 24, top: 40, bottom: 120 };

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
// 14 px unless the title would overrun the width (a sans-serif glyph is about 0.55 em wide)
const titleSize = (t: string) => Math.min(14, Math.floor((W - 16) / (0.55 * t.length)));

/** `names` overrides legend entries; `measure` names the y axis (default accuracy). */
export function plotRateAccuracy(points: RatePoint[], title: string, names: Partial<Record<RatePoint['kind'], string>> = {}, measure = 'accuracy'): string {
  const heading = `${title}: bytes per frame against ${measure}`;
  const xs = points.map((p) => Math.max(p.bytes, 0.1));
  const lo = Math.floor(Math.log10(Math.min(...xs)));
  const hi = Math.ceil(Math.log10(Math.max(...xs)));
  const accs = points.map((p) => p.accuracy * 100);
  const yLo = Math.floor(Math.min(...accs)) - 0.5;
  const yHi = Math.ceil(Math.max(...accs)) + 0.5;
  const x = (b: number) => M.left + ((Math.log10(Math.max(b, 0.1)) - lo) / (hi - lo)) * (W - M.left - M.right);
  const y = (a: number) => H - M.bottom - ((a * 100 - yLo) / (yHi - yLo)) * (H - M.top - M.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="${titleSize(heading)}">${esc(heading)}</text>`,
  ];
  for (let e = lo; e <= hi; e++) {
    const px = x(10 ** e);
    out.push(`<line x1="${px}" y1="${M.top}" x2="${px}" y2="${H - M.bottom}" stroke="#eee"/>`,
      `<text x="${px}" y="${H - M.bottom + 16}" text-anchor="middle">${10 ** e >= 1 ? (10 ** e).toLocaleString('en') : 10 ** e}</text>`);
  }
  for (let a = Math.ceil(yLo); a <= yHi; a++) {
    const py = y(a / 100);
    out.push(`<line x1="${M.left}" y1="${py}" x2="${W - M.right}" y2="${py}" stroke="#eee"/>`, `<text x="${M.left - 6}" y="${py + 4}" text-anchor="end">${a}%</text>`);
  }
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - M.bottom + 34}" text-anchor="middle">bytes per frame (log scale)</text>`);
  const kinds = [...new Set(points.map((p) => p.kind))];
  for (const kind of kinds) {
    const { colour } = STYLE[kind];
    const own = points.filter((p) => p.kind === kind).sort((a, b) => a.bytes - b.bytes);
    if (own.length > 1) out.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${own.map((p) => `${x(p.bytes).toFixed(1)},${y(p.accuracy).toFixed(1)}`).join(' ')}"/>`);
    for (const p of own) out.push(`<circle cx="${x(p.bytes).toFixed(1)}" cy="${y(p.accuracy).toFixed(1)}" r="4" fill="${colour}"><title>${esc(`${p.label}: ${p.bytes.toFixed(1)} B, ${(p.accuracy * 100).toFixed(2)}%`)}</title></circle>`);
  }
  kinds.forEach((kind, i) => {
    const lx = M.left + (i % 2) * 340;
    const ly = H - M.bottom + 56 + Math.floor(i / 2) * 18;
    out.push(`<circle cx="${lx}" cy="${ly - 4}" r="4" fill="${STYLE[kind].colour}"/>`, `<text x="${lx + 10}" y="${ly}">${esc(names[kind] ?? STYLE[kind].name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
