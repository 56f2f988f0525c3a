// One contract suite run over every indicator (the trading-signals pattern), with fast-check.
import fc from 'fast-check';
import { isPipelineError } from '@pipeline/core';
import {
  ADX,
  ATR,
  BollingerBands,
  EMA,
  type Indicator,
  MACD,
  OBV,
  RSI,
  SMA,
  StdDev,
  Stochastic,
  VWAP,
  adxBatch,
  atrBatch,
  bollingerBatch,
  emaBatch,
  isFeaturesError,
  macdBatch,
  obvBatch,
  rsiBatch,
  smaBatch,
  stdDevBatch,
  stochasticBatch,
  vwapBatch,
} from '../src';

interface TestBar {
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

type AnyIndicator = Indicator<never, unknown>;

interface Subject {
  name: string;
  create: () => AnyIndicator;
  /** What the indicator reads from a bar. */
  input: (b: TestBar) => unknown;
  /** Batch outputs as arrays of plain result objects (null where the incremental API returns null). */
  batch: (bars: TestBar[]) => unknown[];
}

const col = (bars: TestBar[], k: keyof TestBar): Float64Array => Float64Array.from(bars, (b) => b[k]);
const val = (a: Float64Array): (number | null)[] => Array.from(a, (x) => (Number.isNaN(x) ? null : x));
const zip = <K extends string>(cols: Record<K, Float64Array>, first: K): (Record<K, number> | null)[] =>
  Array.from(cols[first], (x, i) =>
    Number.isNaN(x)
      ? null
      : (Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, (v as Float64Array)[i]])) as Record<
          K,
          number
        >),
  );

const SUBJECTS: Subject[] = [
  {
    name: 'SMA',
    create: () => new SMA({ period: 5 }),
    input: (b) => b.close,
    batch: (bs) => val(smaBatch(col(bs, 'close'), { period: 5 })),
  },
  {
    name: 'EMA',
    create: () => new EMA({ period: 4 }),
    input: (b) => b.close,
    batch: (bs) => val(emaBatch(col(bs, 'close'), { period: 4 })),
  },
  {
    name: 'RSI',
    create: () => new RSI({ period: 5 }),
    input: (b) => b.close,
    batch: (bs) => val(rsiBatch(col(bs, 'close'), { period: 5 })),
  },
  {
    name: 'StdDev',
    create: () => new StdDev({ period: 6, multiplier: 2 }),
    input: (b) => b.close,
    batch: (bs) => val(stdDevBatch(col(bs, 'close'), { period: 6, multiplier: 2 })),
  },
  {
    name: 'MACD',
    create: () => new MACD({ fast: 3, slow: 7, signal: 4 }),
    input: (b) => b.close,
    batch: (bs) =>
      zip(
        macdBatch(col(bs, 'close'), { fast: 3, slow: 7, signal: 4 }) as unknown as Record<
          'macd' | 'signal' | 'histogram',
          Float64Array
        >,
        'macd',
      ),
  },
  {
    name: 'BollingerBands (talib)',
    create: () => new BollingerBands({ period: 6 }),
    input: (b) => b.close,
    batch: (bs) =>
      zip(
        bollingerBatch(col(bs, 'close'), { period: 6 }) as unknown as Record<
          'upper' | 'middle' | 'lower',
          Float64Array
        >,
        'middle',
      ),
  },
  {
    name: 'BollingerBands (exact)',
    create: () => new BollingerBands({ period: 6, mode: 'exact' }),
    input: (b) => b.close,
    batch: (bs) =>
      zip(
        bollingerBatch(col(bs, 'close'), { period: 6, mode: 'exact' }) as unknown as Record<
          'upper' | 'middle' | 'lower',
          Float64Array
        >,
        'middle',
      ),
  },
  {
    name: 'ATR',
    create: () => new ATR({ period: 5 }),
    input: (b) => b,
    batch: (bs) => val(atrBatch(col(bs, 'high'), col(bs, 'low'), col(bs, 'close'), { period: 5 })),
  },
  {
    name: 'ADX',
    create: () => new ADX({ period: 4 }),
    input: (b) => b,
    batch: (bs) =>
      zip(
        adxBatch(col(bs, 'high'), col(bs, 'low'), col(bs, 'close'), { period: 4 }) as unknown as Record<
          'adx' | 'plusDI' | 'minusDI',
          Float64Array
        >,
        'adx',
      ),
  },
  {
    name: 'Stochastic',
    create: () => new Stochastic({ kPeriod: 5, kSlowing: 3, dPeriod: 2 }),
    input: (b) => b,
    batch: (bs) =>
      zip(
        stochasticBatch(col(bs, 'high'), col(bs, 'low'), col(bs, 'close'), {
          kPeriod: 5,
          kSlowing: 3,
          dPeriod: 2,
        }) as unknown as Record<'k' | 'd', Float64Array>,
        'k',
      ),
  },
  {
    name: 'OBV',
    create: () => new OBV(),
    input: (b) => b,
    batch: (bs) => val(obvBatch(col(bs, 'close'), col(bs, 'volume'))),
  },
  {
    name: 'VWAP',
    create: () => new VWAP({ sessionStart: '09:30', timeZone: 'America/New_York' }),
    input: (b) => b,
    batch: (bs) =>
      val(
        vwapBatch(col(bs, 'ts'), col(bs, 'high'), col(bs, 'low'), col(bs, 'close'), col(bs, 'volume'), {
          sessionStart: '09:30',
          timeZone: 'America/New_York',
        }),
      ),
  },
];

/** Bars on a 0.25 tick (so ties and flat stretches are common), 97 minutes apart (crosses sessions). */
const barsArb = fc
  .array(fc.tuple(fc.integer({ min: -6, max: 6 }), fc.nat(4), fc.nat(4), fc.nat(50)), {
    minLength: 1,
    maxLength: 90,
  })
  .map((steps) => {
    let c = 100;
    return steps.map(([d, up, down, v], i): TestBar => {
      const o = c;
      c = Math.max(1, c + d * 0.25);
      return {
        ts: Date.UTC(2024, 2, 8) + i * 97 * 60_000,
        open: o,
        high: Math.max(o, c) + up * 0.25,
        low: Math.min(o, c) - down * 0.25,
        close: c,
        volume: v,
      };
    });
  });

/** A copy of a result (results are reused objects). */
const copy = (r: unknown): unknown => (r !== null && typeof r === 'object' ? { ...r } : r);

describe.each(SUBJECTS.map((s) => [s.name, s] as const))('%s contract', (_name, s) => {
  it('incremental add equals batch at every index, with forming-bar replaces in between', () => {
    fc.assert(
      fc.property(
        barsArb,
        fc.tuple(fc.double({ min: 0.5, max: 2, noNaN: true }), fc.double({ min: 0.5, max: 2, noNaN: true })),
        (bars, [f1, f2]) => {
          const ind = s.create();
          const expected = s.batch(bars);
          bars.forEach((b, i) => {
            // Two provisional versions of the forming bar, then the final one.
            ind.add(
              s.input({
                ...b,
                close: b.close * f1,
                high: b.high * f1,
                low: b.low * f1,
                volume: b.volume + 1,
              }) as never,
            );
            ind.replace(s.input({ ...b, close: b.close * f2, high: b.high * f2, low: b.low * f2 }) as never);
            ind.replace(s.input(b) as never);
            expect(copy(ind.getResult())).toEqual(expected[i]);
            expect(ind.isStable()).toBe(expected[i] !== null);
          });
          expect(ind.count).toBe(bars.length);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('replace(x) then replace(y) leaves the same state as add(y)', () => {
    fc.assert(
      fc.property(barsArb, barsArb, (bars, more) => {
        if (bars.length < 2) return;
        const a = s.create();
        const b = s.create();
        const last = bars[bars.length - 1]!;
        const other = bars[0]!;
        for (const bar of bars.slice(0, -1)) {
          a.add(s.input(bar) as never);
          b.add(s.input(bar) as never);
        }
        a.add(s.input(other) as never);
        a.replace(s.input(other) as never);
        a.replace(s.input(last) as never);
        b.add(s.input(last) as never);
        expect(a.snapshot()).toEqual(b.snapshot());
        for (const bar of more) {
          a.add(s.input(bar) as never);
          b.add(s.input(bar) as never);
          expect(copy(a.getResult())).toEqual(copy(b.getResult()));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('snapshot, JSON round trip and restore mid-series change nothing (replace included)', () => {
    fc.assert(
      fc.property(barsArb, fc.nat(), (bars, cut) => {
        const k = cut % bars.length;
        const a = s.create();
        for (const bar of bars.slice(0, k + 1)) a.add(s.input(bar) as never);
        const b = s.create();
        b.restore(JSON.parse(JSON.stringify(a.snapshot())));
        expect(copy(b.getResult())).toEqual(copy(a.getResult()));
        expect(b.count).toBe(a.count);
        const x = bars[(k * 7) % bars.length]!;
        a.replace(s.input(x) as never);
        b.replace(s.input(x) as never);
        for (const bar of bars.slice(k + 1)) {
          a.add(s.input(bar) as never);
          b.add(s.input(bar) as never);
          expect(copy(b.getResult())).toEqual(copy(a.getResult()));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('is null and throws FEATURES_NOT_STABLE until count > lookback', () => {
    const ind = s.create();
    expect(ind.getResult()).toBeNull();
    expect(() => ind.getResultOrThrow()).toThrow(expect.objectContaining({ code: 'FEATURES_NOT_STABLE' }));
    const bar: TestBar = { ts: Date.UTC(2024, 0, 2, 15), open: 10, high: 11, low: 9, close: 10, volume: 5 };
    for (let i = 0; i <= ind.lookback; i++) {
      expect(ind.isStable()).toBe(false);
      ind.add(s.input({ ...bar, close: 10 + (i % 3) }) as never);
    }
    expect(ind.isStable()).toBe(true);
    expect(ind.getResultOrThrow()).not.toBeNull();
    ind.reset();
    expect(ind.count).toBe(0);
    expect(ind.getResult()).toBeNull();
  });

  it('ignores and counts non-finite inputs', () => {
    const ind = s.create();
    const bar: TestBar = { ts: Date.UTC(2024, 0, 2, 15), open: 10, high: 11, low: 9, close: 10, volume: 5 };
    ind.add(s.input(bar) as never);
    const before = ind.snapshot();
    ind.add(s.input({ ...bar, close: NaN, volume: NaN }) as never);
    ind.replace(s.input({ ...bar, close: Infinity, volume: Infinity }) as never);
    expect(ind.rejected).toBe(2);
    expect({ ...ind.snapshot(), scalars: { ...ind.snapshot().scalars, rejected: 0 } }).toEqual({
      ...before,
      scalars: { ...before.scalars, rejected: 0 },
    });
  });

  it('refuses a snapshot of another indicator or other parameters', () => {
    const ind = s.create();
    const foreign = s.name === 'SMA' ? new EMA({ period: 5 }).snapshot() : new SMA({ period: 5 }).snapshot();
    try {
      ind.restore(foreign);
      throw new Error('restore accepted a foreign snapshot');
    } catch (e) {
      expect(isFeaturesError(e)).toBe(true);
      expect(isPipelineError(e, 'FEATURES_BAD_SNAPSHOT')).toBe(true);
    }
    const mine = ind.snapshot();
    expect(() => ind.restore({ ...mine, params: { ...mine.params, zzz: 1 } })).toThrow(/parameters/);
  });
});
