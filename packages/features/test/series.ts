// TypeScript copy of scripts/series.mjs (the reference generator's input series). The reference
// files carry a SHA-256 of their inputs; reference.test.ts checks that this copy reproduces them.

export interface Columns {
  ts: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

export function randomSeries(seed: number, n: number): Columns {
  const rnd = mulberry32(seed);
  const ts = new Float64Array(n);
  const open = new Float64Array(n);
  const high = new Float64Array(n);
  const low = new Float64Array(n);
  const close = new Float64Array(n);
  const volume = new Float64Array(n);
  let prev = 100;
  const t0 = Date.UTC(2024, 0, 2);
  for (let i = 0; i < n; i++) {
    const o = prev;
    const step = (rnd() + rnd() + rnd() - 1.5) * 0.3 + (100 - o) * 0.001;
    const c = Math.max(1, round2(o + step));
    const h = round2(Math.max(o, c) + Math.floor(rnd() * 4) * 0.01 * (rnd() < 0.8 ? 1 : 0));
    const l = round2(Math.min(o, c) - Math.floor(rnd() * 4) * 0.01 * (rnd() < 0.8 ? 1 : 0));
    ts[i] = t0 + i * 60_000;
    open[i] = o;
    high[i] = h;
    low[i] = l;
    close[i] = c;
    volume[i] = rnd() < 0.02 ? 0 : Math.floor(rnd() * 1000) + 1;
    prev = c;
  }
  return { ts, open, high, low, close, volume };
}
