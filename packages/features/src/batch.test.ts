import { isPipelineError } from '@pipeline/core';
import { randomSeries } from '../test/series';
import {
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
      for (const k of Object.keys(want)) expect([k, same(bufs[k], want[k])]).toEqual([k, true]);
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
    const cols = [s.ts, s.high, s.low, close, s.volume].map((c) => c.subarray(0, 50));
    const batch = vwapBatch(cols[0], cols[1], cols[2], cols[3], cols[4]);
    const vw = new VWAP();
    for (let i = 0; i < 50; i++) {
      vw.addValues(cols[0][i], cols[1][i], cols[2][i], cols[3][i], cols[4][i]);
      expect(Object.is(batch[i], vw.valueOrNaN())).toBe(true);
    }
    expect(vw.rejected).toBe(1);
    expect(batch[20]).toBe(batch[19]);
  });
});
