import { isPipelineError } from '@pipeline/core';
import { randomSeries } from '../test/series';
import {
  Stochastic,
  VWAP,
  adxBatch,
  atrBatch,
  bollingerBatch,
  emaBatch,
  macdBatch,
  obvBatch,
  rsiBatch,
  smaBatch,
  stdDevBatch,
  stochasticBatch,
  vwapBatch,
} from './index';

const s = randomSeries(7, 3000);
const n = s.close.length;
/** A buffer full of a value no indicator produces, so a missed write shows. */
const dirty = (): Float64Array => new Float64Array(n).fill(-12345.678);
const same = (a: Float64Array, b: Float64Array): boolean => a.every((x, i) => Object.is(x, b[i]));

describe('batch outputs written into caller buffers (`into`)', () => {
  const single: [string, (into?: Float64Array) => Float64Array][] = [
    ['smaBatch', (o) => smaBatch(s.close, { period: 20 }, o)],
    ['emaBatch', (o) => emaBatch(s.close, { period: 12 }, o)],
    ['rsiBatch', (o) => rsiBatch(s.close, { period: 14 }, o)],
    ['stdDevBatch', (o) => stdDevBatch(s.close, { period: 20 }, o)],
    ['atrBatch', (o) => atrBatch(s.high, s.low, s.close, { period: 14 }, o)],
    ['obvBatch', (o) => obvBatch(s.close, s.volume, o)],
    [
      'vwapBatch',
      (o) =>
        vwapBatch(
          s.ts,
          s.high,
          s.low,
          s.close,
          s.volume,
          { sessionStart: '09:30', timeZone: 'America/New_York' },
          o,
        ),
    ],
  ];
  it.each(single)('%s: the same doubles as a fresh output, NaN prefix included, buffer reused', (_, run) => {
    const fresh = run();
    const buf = dirty();
    expect(run(buf)).toBe(buf);
    expect(same(buf, fresh)).toBe(true);
    expect(same(run(buf), fresh)).toBe(true);
  });

  it('multi-output functions fill every given array', () => {
    const cases: [() => object, (o: Record<string, Float64Array>) => unknown][] = [
      [() => macdBatch(s.close), (o) => macdBatch(s.close, undefined, o as never)],
      [() => bollingerBatch(s.close), (o) => bollingerBatch(s.close, undefined, o as never)],
      [
        () => bollingerBatch(s.close, { mode: 'exact' }),
        (o) => bollingerBatch(s.close, { mode: 'exact' }, o as never),
      ],
      [
        () => adxBatch(s.high, s.low, s.close),
        (o) => adxBatch(s.high, s.low, s.close, undefined, o as never),
      ],
      [
        () => stochasticBatch(s.high, s.low, s.close),
        (o) => stochasticBatch(s.high, s.low, s.close, undefined, o as never),
      ],
    ];
    for (const [fresh, into] of cases) {
      const want = fresh() as Record<string, Float64Array>;
      const bufs = Object.fromEntries(Object.keys(want).map((k) => [k, dirty()]));
      into(bufs);
      for (const k of Object.keys(want)) expect([k, same(bufs[k]!, want[k]!)]).toEqual([k, true]);
    }
  });

  it('refuses an output of another length or type with INVALID_OPTIONS, naming it', () => {
    const errorOf = (f: () => unknown): unknown => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return null;
    };
    const e1 = errorOf(() => smaBatch(s.close, {}, new Float64Array(n - 1)));
    expect(isPipelineError(e1, 'INVALID_OPTIONS')).toBe(true);
    expect((e1 as Error).message).toMatch(
      /smaBatch: output "output" must be a Float64Array of the input's length 3000, got a Float64Array of length 2999/,
    );
    const e2 = errorOf(() =>
      adxBatch(s.high, s.low, s.close, {}, { adx: dirty(), plusDI: dirty() } as never),
    );
    expect(isPipelineError(e2, 'INVALID_OPTIONS')).toBe(true);
    expect((e2 as Error).message).toMatch(/adxBatch: output "minusDI"/);
  });
});

describe('vwapBatch', () => {
  it('skips a bar with a non-finite field as the class does (the output repeats the previous value)', () => {
    const close = Float64Array.from(s.close.subarray(0, 50));
    close[20] = NaN;
    const cols = [s.ts, s.high, s.low, close, s.volume].map((c) => c.subarray(0, 50)) as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    const batch = vwapBatch(cols[0], cols[1], cols[2], cols[3], cols[4]);
    const vw = new VWAP();
    for (let i = 0; i < 50; i++) {
      vw.addValues(cols[0][i]!, cols[1][i]!, cols[2][i]!, cols[3][i]!, cols[4][i]!);
      expect(Object.is(batch[i], vw.valueOrNaN())).toBe(true);
    }
    expect(vw.rejected).toBe(1);
    expect(batch[20]).toBe(batch[19]);
  });
});

describe('stochasticBatch: branch-free extremes and the index/rescan fallback', () => {
  /** The incremental class's %K and %D at every bar (NaN before it is stable), for comparison bit by bit. */
  const viaClass = (h: ArrayLike<number>, l: ArrayLike<number>, c: ArrayLike<number>, kPeriod: number) => {
    const ind = new Stochastic({ kPeriod, kSlowing: 3, dPeriod: 3 });
    const k = new Float64Array(c.length).fill(NaN);
    const d = new Float64Array(c.length).fill(NaN);
    for (let i = 0; i < c.length; i++) {
      ind.addValues(h[i]!, l[i]!, c[i]!);
      const r = ind.getResult();
      if (r) {
        k[i] = r.k;
        d[i] = r.d;
      }
    }
    return { k, d };
  };

  it.each([1, 2, 5, 14, 37])('kPeriod %i: the same doubles as the class on random prices', (kPeriod) => {
    const got = stochasticBatch(s.high, s.low, s.close, { kPeriod });
    const want = viaClass(s.high, s.low, s.close, kPeriod);
    expect(same(got.k, want.k)).toBe(true);
    expect(same(got.d, want.d)).toBe(true);
  });

  /** TA-Lib's index/rescan method written plainly (the kernel before the branch-free pass), k 3 / d 3. */
  const indexRescan = (h: ArrayLike<number>, l: ArrayLike<number>, c: ArrayLike<number>, P: number) => {
    const n = c.length;
    const fast = new Float64Array(n);
    let hiIdx = -1;
    let loIdx = -1;
    let hi = 0;
    let lo = 0;
    for (let i = P - 1; i < n; i++) {
      const t = i - P + 1;
      if (hiIdx < t) {
        hiIdx = t;
        hi = h[t]!;
        for (let j = t + 1; j <= i; j++) if (h[j]! > hi) [hi, hiIdx] = [h[j]!, j];
      } else if (h[i]! >= hi) [hi, hiIdx] = [h[i]!, i];
      if (loIdx < t) {
        loIdx = t;
        lo = l[t]!;
        for (let j = t + 1; j <= i; j++) if (l[j]! < lo) [lo, loIdx] = [l[j]!, j];
      } else if (l[i]! <= lo) [lo, loIdx] = [l[i]!, i];
      const diff = (hi - lo) / 100;
      fast[i] = diff !== 0 ? (c[i]! - lo) / diff : 0;
    }
    const sma = (x: Float64Array, from: number): Float64Array => {
      const out = new Float64Array(n).fill(NaN);
      let total = 0;
      for (let i = from; i < from + 2 && i < n; i++) total += x[i]!;
      for (let i = from + 2; i < n; i++) {
        const tt = total + x[i]!;
        out[i] = tt / 3;
        total = tt - x[i - 2]!;
      }
      return out;
    };
    const k = sma(fast, P - 1);
    const d = sma(k, P + 1);
    k.fill(NaN, 0, Math.min(P + 3, n));
    return { k, d };
  };

  it('zero, negative and signed-zero prices (ties everywhere): the same doubles as the class', () => {
    // Ties and signed zeros are where a value-only extreme could pick other bits than TA-Lib's indexes;
    // the sign of a zero extreme never reaches the outputs.
    const base = [0, -0, 1, -0, 0, -2, 0, 1, 1, -0, 0, 3, -1, 0, -0, 2, 0, 0, -0, 1];
    const h = Array.from({ length: 200 }, (_, i) => base[i % base.length]! + (i % 7 === 0 ? 0 : 0.5));
    const l = h.map((x, i) => (i % 3 === 0 ? x : x - 0.5));
    const c = h.map((x, i) => (i % 4 === 0 ? -0 : x - 0.25));
    for (const kPeriod of [1, 3, 5, 14]) {
      const got = stochasticBatch(h, l, c, { kPeriod });
      const want = viaClass(h, l, c, kPeriod);
      expect(same(got.k, want.k)).toBe(true);
      expect(same(got.d, want.d)).toBe(true);
    }
  });

  it('non-finite inputs: the index/rescan result, as before the branch-free pass', () => {
    const h = Float64Array.from(s.high.subarray(0, 300));
    const l = Float64Array.from(s.low.subarray(0, 300));
    h[40] = NaN;
    h[100] = Infinity;
    l[150] = -Infinity;
    l[200] = NaN;
    const c = s.close.subarray(0, 300);
    const got = stochasticBatch(h, l, c, { kPeriod: 14 });
    const want = indexRescan(h, l, c, 14);
    expect(same(got.k, want.k)).toBe(true);
    expect(same(got.d, want.d)).toBe(true);
    // and the plain rendering agrees with the batch function on ordinary prices too
    const plain = indexRescan(s.high, s.low, s.close, 14);
    const fastPath = stochasticBatch(s.high, s.low, s.close);
    expect(same(fastPath.k, plain.k)).toBe(true);
    expect(same(fastPath.d, plain.d)).toBe(true);
  });
});
