import { ManualClock, type Bar, type SourceName } from '@pipeline/core';
import { createValidator } from '@pipeline/validator';
import { createSymbolStates, type SymbolState } from '../state/symbol-state';
import { createIndicatorFeatures } from '../strategy/features';
import { createDefaultStrategy } from '../strategy/scanner';
import { createSignalBook } from '../strategy/signals';
import { createMetricsFromConfig } from '../wiring/wiring';
import { createIngest, type BarList, type Ingest, type LiveGap } from './ingest';

const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 3, 12, 0);
const bar = (ts: number, close = 1.1, extra: Partial<Bar> = {}): Bar => ({
  symbol: 'EURUSD',
  timeframe: '1m',
  ts,
  open: close,
  high: close + 0.0005,
  low: close - 0.0005,
  close,
  volume: 0,
  source: 'synthetic',
  final: false,
  quality: 1,
  ...extra,
});

function setup() {
  const clock = new ManualClock(T0 + 100 * MIN);
  const states = createSymbolStates({ symbols: ['EURUSD'], toBroker: (s) => s, staleAfterMs: 10_000 });
  const signals = createSignalBook({
    strategy: createDefaultStrategy(),
    clock,
    metrics: createMetricsFromConfig(clock, undefined, false),
    symbols: ['EURUSD'],
    staleAfterMs: 10_000,
    publish: false,
  });
  const gaps: LiveGap[] = [];
  const features = createIndicatorFeatures();
  const ingest = createIngest({
    timeframe: '1m',
    validator: createValidator({ clock }),
    features,
    signals,
    onGap: (g) => gaps.push(g),
  });
  return { clock, state: states.get('EURUSD'), signals, gaps, features, ingest };
}

/** One apply into a list of its own: what it appended and the rejected count it returned. */
function applied(ingest: Ingest, state: SymbolState, raw: readonly Bar[], source: SourceName, now: number) {
  const out: BarList = { bars: [], n: 0 };
  const rejected = ingest.apply(state, raw, source, now, out);
  expect(out.bars).toHaveLength(out.n);
  return { accepted: out.bars, rejected };
}

describe('ingest', () => {
  it('keeps bars at or after the newest known one, advances the indicators and makes a signal once they are stable', () => {
    const { clock, state, signals, features, ingest } = setup();
    let accepted = 0;
    for (let m = 0; m < 40; m++) {
      const r = applied(ingest, state, [bar(T0 + m * MIN, 1.1 + m * 0.0001)], 'synthetic', clock.now());
      accepted += r.accepted.length;
    }
    expect(accepted).toBe(40);
    expect(state.lastBar?.ts).toBe(T0 + 39 * MIN);
    expect(state).toMatchObject({
      lastSource: 'synthetic',
      lastSuccessAt: clock.now(),
      consecutiveFailures: 0,
    });
    expect(features.latest('EURUSD')?.ema26).toEqual(expect.any(Number));
    expect(signals.get('EURUSD')?.dataTs).toBe(T0 + 39 * MIN);
    // An answer repeating older bars: they are known, not fed again; the forming bar replaces.
    const before = features.latest('EURUSD');
    const r = applied(ingest, state, [bar(T0 + 38 * MIN), bar(T0 + 39 * MIN, 1.2)], 'yahoo', clock.now());
    expect(r.accepted.map((b) => b.ts)).toEqual([T0 + 39 * MIN]);
    expect(features.latest('EURUSD')).not.toBe(before);
    expect(state.lastSource).toBe('yahoo');
  });

  it('counts rejected bars and does not let them hide staleness', () => {
    const { clock, state, ingest } = setup();
    const r = applied(ingest, state, [bar(T0, 1.1, { high: 1.0, low: 1.2 })], 'synthetic', clock.now());
    expect(r).toEqual({ accepted: [], rejected: 1 });
    expect(state.lastSuccessAt).toBeNull();
  });

  it('takes answers of several fresh bars in order, with rejected ones counted between them', () => {
    const a = setup();
    const b = setup();
    // The reference: one bar per answer.
    for (let m = 0; m < 30; m++)
      applied(b.ingest, b.state, [bar(T0 + m * MIN, 1.1 + m * 0.0001)], 'synthetic', 0);
    const answer = Array.from({ length: 30 }, (_, m) => bar(T0 + m * MIN, 1.1 + m * 0.0001));
    // A bad bar in the middle (high below low): rejected, counted, not fed, the rest go on.
    answer.splice(10, 0, bar(T0 + 9 * MIN + 1, 1.1, { high: 1.0, low: 1.2 }));
    const r = applied(a.ingest, a.state, answer, 'synthetic', 0);
    expect(r.rejected).toBe(1);
    expect(r.accepted.map((x) => x.ts)).toEqual(answer.filter((_, i) => i !== 10).map((x) => x.ts));
    expect(a.state.lastBar).toEqual(b.state.lastBar);
    expect(a.features.latest('EURUSD')).toEqual(b.features.latest('EURUSD'));
    expect(a.signals.get('EURUSD')?.dataTs).toBe(T0 + 29 * MIN);
    // Two fresh bars (the closing bar and the next forming one), after a known one.
    const two = applied(
      a.ingest,
      a.state,
      [bar(T0 + 28 * MIN), bar(T0 + 29 * MIN, 1.2), bar(T0 + 30 * MIN, 1.21)],
      'yahoo',
      5,
    );
    // (The jump to 1.2 costs the bars some quality: scored copies, in the answer's order.)
    expect(two.rejected).toBe(0);
    expect(two.accepted.map((x) => [x.ts, x.close])).toEqual([
      [T0 + 29 * MIN, 1.2],
      [T0 + 30 * MIN, 1.21],
    ]);
    expect(a.state).toMatchObject({ lastSource: 'yahoo', lastSuccessAt: 5, lastAdvanceAt: 5 });
    expect(a.state.lastBar).toBe(two.accepted[1]);
    expect(a.signals.get('EURUSD')?.dataTs).toBe(T0 + 30 * MIN);
  });

  it('an answer of known bars only: fresh, nothing accepted, the signal and last bar left as they were', () => {
    const { state, signals, ingest } = setup();
    for (let m = 0; m < 30; m++)
      applied(ingest, state, [bar(T0 + m * MIN, 1.1 + m * 0.0001)], 'synthetic', 1);
    const lastBar = state.lastBar;
    const signal = signals.get('EURUSD');
    const r = applied(ingest, state, [bar(T0 + 27 * MIN), bar(T0 + 28 * MIN)], 'yahoo', 2);
    expect(r).toEqual({ accepted: [], rejected: 0 });
    expect(state).toMatchObject({ lastSuccessAt: 2, lastSource: 'yahoo', lastAdvanceAt: 1 });
    expect(state.lastBar).toBe(lastBar);
    expect(signals.get('EURUSD')).toEqual(signal);
    // An empty answer is not fresh.
    expect(applied(ingest, state, [], 'synthetic', 3)).toEqual({ accepted: [], rejected: 0 });
    expect(state.lastSuccessAt).toBe(2);
  });

  it('notes a gap when a new bar lands more than one period after the previous one', () => {
    const { clock, state, gaps, ingest } = setup();
    applied(ingest, state, [bar(T0)], 'synthetic', clock.now());
    applied(ingest, state, [bar(T0 + MIN)], 'synthetic', clock.now());
    expect(gaps).toEqual([]);
    applied(ingest, state, [bar(T0 + 5 * MIN)], 'synthetic', clock.now());
    expect(gaps).toEqual([{ symbol: 'EURUSD', from: T0 + 2 * MIN, to: T0 + 5 * MIN }]);
  });
});

describe('ingest into a shared write list', () => {
  const other = (ts: number): Bar => ({
    ...bar(ts),
    symbol: 'XAUUSD',
    close: 2000,
    open: 2000,
    high: 2001,
    low: 1999,
  });

  it("appends this symbol's accepted bars after the bars already in the list, leaving those as they were", () => {
    const { state, ingest, features } = setup();
    const ref = setup();
    const held = [other(T0), other(T0 + MIN)];
    // Sized ahead (holes past n), as the cycle's list is.
    const out: BarList = { bars: new Array<Bar>(4), n: 0 };
    held.forEach((b) => (out.bars[out.n++] = b));
    const answer = [bar(T0, 1.1), bar(T0 + MIN, 1.1001), bar(T0 + 2 * MIN, 1.1002)];
    // A bad bar among them: counted, not appended.
    answer.splice(1, 0, bar(T0 + 1, 1.1, { high: 1.0, low: 1.2 }));
    expect(ingest.apply(state, answer, 'synthetic', 7, out)).toBe(1);
    expect(out.n).toBe(5);
    expect(out.bars[0]).toBe(held[0]);
    expect(out.bars[1]).toBe(held[1]);
    expect(out.bars.slice(2, out.n).map((b) => [b.symbol, b.ts])).toEqual([
      ['EURUSD', T0],
      ['EURUSD', T0 + MIN],
      ['EURUSD', T0 + 2 * MIN],
    ]);
    // The same bars, state and indicators as an apply into a list of its own.
    const alone = applied(ref.ingest, ref.state, answer, 'synthetic', 7);
    expect(out.bars.slice(2, out.n)).toEqual(alone.accepted);
    expect(alone.rejected).toBe(1);
    expect(state.lastBar).toBe(out.bars[4]);
    expect(state).toMatchObject({ lastSuccessAt: 7, lastAdvanceAt: 7, lastSource: 'synthetic' });
    expect(features.latest('EURUSD')).toEqual(ref.features.latest('EURUSD'));
    // The next symbol's bars go after them.
    out.bars[out.n++] = other(T0 + 2 * MIN);
    expect(ingest.apply(state, [bar(T0 + 2 * MIN, 1.1003)], 'synthetic', 8, out)).toBe(0);
    expect(out.n).toBe(7);
    expect(out.bars[5]?.symbol).toBe('XAUUSD');
    expect(out.bars[6]).toMatchObject({ symbol: 'EURUSD', ts: T0 + 2 * MIN, close: 1.1003 });
  });

  it('leaves the list unchanged when nothing is accepted: known bars, an empty answer, rejected bars', () => {
    const { state, ingest } = setup();
    applied(ingest, state, [bar(T0), bar(T0 + MIN)], 'synthetic', 1);
    const held = [other(T0), other(T0 + MIN)];
    const out: BarList = { bars: [...held], n: 2 };
    expect(ingest.apply(state, [bar(T0)], 'yahoo', 2, out)).toBe(0);
    expect(ingest.apply(state, [], 'yahoo', 3, out)).toBe(0);
    expect(ingest.apply(state, [bar(T0 + 2 * MIN, 1.1, { high: 1.0, low: 1.2 })], 'yahoo', 4, out)).toBe(1);
    expect(out.n).toBe(2);
    expect(out.bars).toEqual(held);
    expect(out.bars[0]).toBe(held[0]);
    // Only the known bar's answer was fresh.
    expect(state).toMatchObject({ lastSuccessAt: 2, lastSource: 'yahoo' });
  });

  it('an apply that throws leaves n as it was; the next one writes over its slots', () => {
    const clock = new ManualClock(T0 + 100 * MIN);
    const states = createSymbolStates({ symbols: ['EURUSD'], toBroker: (s) => s, staleAfterMs: 10_000 });
    let fail = true;
    const real = createIndicatorFeatures();
    const ingest = createIngest({
      timeframe: '1m',
      validator: createValidator({ clock }),
      features: {
        ...real,
        update: (b: Bar) => {
          if (fail && b.ts === T0 + MIN) throw new Error('engine down');
          return real.update(b);
        },
      },
      signals: { record: () => undefined, redate: () => undefined },
      onGap: () => undefined,
    });
    const state = states.get('EURUSD');
    const out: BarList = { bars: [other(T0)], n: 1 };
    expect(() => ingest.apply(state, [bar(T0), bar(T0 + MIN)], 'synthetic', 1, out)).toThrow('engine down');
    expect(out.n).toBe(1);
    fail = false;
    expect(ingest.apply(state, [bar(T0 + 2 * MIN)], 'synthetic', 2, out)).toBe(0);
    expect(out.n).toBe(2);
    expect(out.bars[1]).toMatchObject({ symbol: 'EURUSD', ts: T0 + 2 * MIN });
  });
});
