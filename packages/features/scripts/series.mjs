// Deterministic OHLCV test series shared by the reference generator (this file) and, through
// test/series.ts, the tests and benchmarks (the reference files also store a hash of the
// inputs, so a changed generator fails the tests).
//
// Prices move on a 0.01 tick around 100, so equal closes, equal highs and equal up/down moves
// (TA-Lib's tie rules) occur naturally; about 2% of bars have zero volume.

/** mulberry32: a tiny seeded PRNG with 2^32 period, enough for test data. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round2 = (x) => Math.round(x * 100) / 100;

/** Random-walk OHLCV bars, one minute apart from 2024-01-02 00:00 UTC. */
export function randomSeries(seed, n) {
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
    // Sum of three uniforms: a cheap bell-shaped step; mean-reverting pull keeps prices near 100.
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

/**
 * Hand-made edge cases: a flat stretch (no movement: RSI 0, zero stddev, zero stochastic range, zero
 * true range), bars whose high and low move up and down by the same amount (ADX ties), a constant
 * close with widening ranges, and a stretch of random bars between them so every indicator recovers.
 */
export function edgeSeries() {
  const rows = [];
  for (let i = 0; i < 45; i++) rows.push([50, 50, 50, 50, 100]);
  let c = 50;
  for (let i = 0; i < 30; i++) {
    // Expanding bars: up move == down move every bar.
    rows.push([c, c + (i + 1) * 0.25, c - (i + 1) * 0.25, c, 10 + i]);
  }
  const rnd = mulberry32(7);
  for (let i = 0; i < 60; i++) {
    const o = c;
    c = Math.round((c + (rnd() - 0.5) * 2) * 100) / 100;
    rows.push([o, Math.max(o, c) + 0.1, Math.min(o, c) - 0.1, c, Math.floor(rnd() * 50)]);
  }
  for (let i = 0; i < 40; i++) rows.push([c, c, c, c, 0]);
  for (let i = 0; i < 40; i++) {
    const o = c;
    c = i % 2 === 0 ? c + 0.5 : c - 0.5;
    rows.push([o, Math.max(o, c), Math.min(o, c), c, 5]);
  }
  const n = rows.length;
  const t0 = Date.UTC(2024, 0, 2);
  const cols = {
    ts: new Float64Array(n),
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
  };
  rows.forEach((r, i) => {
    cols.ts[i] = t0 + i * 60_000;
    [cols.open[i], cols.high[i], cols.low[i], cols.close[i], cols.volume[i]] = r;
  });
  return cols;
}
