// Real recorded data (fixtures) and the batch path checked against the per-bar path.
import { ManualClock, TIMEFRAME_MS, type Bar, type Timeframe } from '@pipeline/core';
import { readFixture } from '@pipeline/test-utils';
import { isSeriesShapeError } from './errors';
import { RULE_BITS, STATUS_CODES } from './rules';
import { createValidator, type BarColumns, type IssueEvent } from './validator';

const DAY = TIMEFRAME_MS['1d'];

/**
 * The recorded Yahoo chart as bars. Yahoo stamps daily FX bars at London midnight (23:00 UTC in summer), so
 * the open time is rounded to the nearest UTC day, as a fetcher must do before validation.
 */
function yahooDaily(): Bar[] {
  const raw = JSON.parse(readFixture('yahoo/chart-EURUSD_X-1d-2020-full-year.json'));
  const r = raw.chart.result[0];
  const q = r.indicators.quote[0];
  return r.timestamp.map((t: number, i: number) => ({
    symbol: 'EURUSD',
    timeframe: '1d' as Timeframe,
    ts: Math.round((t * 1000) / DAY) * DAY,
    open: q.open[i],
    high: q.high[i],
    low: q.low[i],
    close: q.close[i],
    volume: q.volume[i],
    source: 'yahoo' as const,
    final: true,
    quality: 1,
  }));
}

const AFTER_2020 = Date.UTC(2021, 0, 5);

describe('real series: yahoo EURUSD 1d 2020', () => {
  const bars = yahooDaily();

  it('repairs the small open/close-outside-range bars and rejects the large one', () => {
    const v = createValidator({ clock: new ManualClock(AFTER_2020) });
    const res = v.validateSeries(bars);
    expect(bars.length).toBeGreaterThan(250);
    let violations = 0;
    bars.forEach((b, i) => {
      // Independent oracle: how far open/close lie outside [low, high], relative to the close.
      const need =
        Math.max(Math.max(b.open, b.close) - b.high, b.low - Math.min(b.open, b.close), 0) / b.close;
      if (need > 0) violations++;
      const expected =
        need === 0 ? STATUS_CODES.accepted : need <= 0.001 ? STATUS_CODES.repaired : STATUS_CODES.rejected;
      if (need > 0) expect([i, res.status[i]]).toEqual([i, expected]);
      const repair = res.repairs.find((x) => x.index === i);
      if (expected === STATUS_CODES.repaired) {
        expect(repair).toEqual({
          index: i,
          high: Math.max(b.high, b.open, b.close),
          low: Math.min(b.low, b.open, b.close),
          volume: b.volume,
        });
      } else {
        expect(repair).toBeUndefined();
      }
    });
    expect(violations).toBeGreaterThan(5); // the recording really has them
    expect(res.repaired + res.rejected).toBe(violations);
  });

  it('flags nothing but the March 2020 crash as a spike, and finds an injected bad tick', () => {
    const v = createValidator({ clock: new ManualClock(AFTER_2020) });
    const res = v.validateSeries(bars);
    const spikes = [...res.rules.keys()].filter((i) => res.rules[i]! & RULE_BITS.spike);
    expect(spikes.length).toBeLessThanOrEqual(2);
    for (const i of spikes) expect(new Date(bars[i]!.ts).toISOString().slice(0, 7)).toBe('2020-03');

    // A bad tick in the calm second half: the whole bar 4 % off.
    const at = bars.findIndex((b) => b.ts >= Date.UTC(2020, 8, 15));
    const tampered = bars.map((b, i) =>
      i === at
        ? { ...b, open: b.open * 1.04, high: b.high * 1.04, low: b.low * 1.04, close: b.close * 1.04 }
        : b,
    );
    const res2 = createValidator({ clock: new ManualClock(AFTER_2020) }).validateSeries(tampered);
    expect(res2.rules[at]! & RULE_BITS.spike).toBeTruthy();
    expect(res2.quality[at]).toBeCloseTo(0.5, 12);
    // the next bar returns to the real level: not a second spike
    expect(res2.rules[at + 1]! & RULE_BITS.spike).toBe(0);
    const issue = res2.issues.find((x) => x.index === at)!.issues.find((x) => x.rule === 'spike')!;
    expect(issue.message).toMatch(/^close moved \d+\.\d+ sigma/);
  });

  it('flags a disagreeing reference source bar by bar', () => {
    const reference = bars.map((b, i) =>
      i % 50 === 10
        ? { ...b, source: 'twelvedata' as const, close: b.close * 1.01 }
        : { ...b, source: 'twelvedata' as const },
    );
    const res = createValidator({ clock: new ManualClock(AFTER_2020) }).validateSeries(bars, { reference });
    const flagged = [...res.rules.keys()].filter((i) => res.rules[i]! & RULE_BITS.disagreement);
    expect(flagged).toEqual(
      bars.map((_, i) => i).filter((i) => i % 50 === 10 && res.status[i] !== STATUS_CODES.rejected),
    );
  });
});

/** A seeded series with every kind of fault, forming updates and a reference source. */
function faultySeries(n: number, seed: number): { bars: Bar[]; reference: Bar[] } {
  let s = seed;
  const rand = (): number => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  const bars: Bar[] = [];
  const reference: Bar[] = [];
  const tf = TIMEFRAME_MS['1m'];
  let ts = Date.UTC(2024, 0, 2);
  let price = 100;
  for (let i = 0; i < n; i++) {
    const open = price;
    price *= Math.exp((rand() - 0.5) * 0.002);
    // runs of unchanged closes for the flatline rule
    const close = i > 0 && rand() < 0.5 ? bars[bars.length - 1]!.close || price : price;
    const b: Bar = {
      symbol: rand() < 0.1 ? 'B' : 'A',
      timeframe: '1m',
      ts,
      open,
      high: Math.max(open, close) * (1 + rand() * 0.001),
      low: Math.min(open, close) * (1 - rand() * 0.001),
      close,
      volume: Math.floor(rand() * 100),
      source: 'polygon',
      final: rand() < 0.8,
      quality: 1,
    };
    const f = rand();
    if (f < 0.02) b.close = NaN;
    else if (f < 0.04)
      b.high = b.close * 0.9999; // small ohlc violation: repaired
    else if (f < 0.05)
      b.high = b.close * 0.99; // large: rejected
    else if (f < 0.06) b.volume = NaN;
    else if (f < 0.07) b.volume = -1;
    else if (f < 0.08)
      b.ts += 1000; // misaligned
    else if (f < 0.1)
      b.close = b.high = b.close * 1.03; // spike
    else if (f < 0.11) b.low = -1;
    bars.push(b);
    if (rand() < 0.5) reference.push({ ...b, source: 'yahoo', close: b.close * (rand() < 0.9 ? 1 : 1.01) });
    const g = rand();
    if (g < 0.1)
      bars.push({ ...b }); // exact repeat or forming replacement
    else if (g < 0.13)
      bars.push({ ...b, ts: ts - tf }); // out of order
    else if (g < 0.16) bars.push({ ...b, close: b.close * 1.0001, high: b.high * 1.0001 }); // revision / update
    if (rand() < 0.85) ts += tf;
  }
  return { bars, reference };
}

describe('keep equals validate', () => {
  const now = Date.UTC(2024, 0, 2) + 400 * TIMEFRAME_MS['1m'];

  it.each([1, 2, 3, 4, 5])('on random faulty series, reference included (seed %i)', (seed) => {
    const { bars, reference } = faultySeries(400, seed);
    const refByTs = new Map(reference.map((r) => [r.ts, r]));
    // some bars arrive already scored (as a cache read back would give them), some as a source gives them
    const input = bars.map((b, i) => Object.freeze(i % 7 === 3 ? { ...b, quality: 0.5 } : b));
    const rules = { flatline: { maxUnchangedUpdates: 3 } };
    const a = createValidator({ clock: new ManualClock(now), rules });
    const b = createValidator({ clock: new ManualClock(now), rules });
    const eventsA: IssueEvent[] = [];
    const eventsB: IssueEvent[] = [];
    a.onIssue((e) => eventsA.push(e));
    b.onIssue((e) => eventsB.push(e));
    let same = 0;
    let copies = 0;
    input.forEach((bar, i) => {
      const ctx = { reference: refByTs.get(bar.ts) ?? null };
      const one = a.validate(bar, ctx);
      const kept = b.keep(bar, ctx);
      if (one.status === 'rejected') {
        expect([i, kept]).toEqual([i, null]);
        return;
      }
      expect([i, kept]).toEqual([i, one.bar]);
      const unchanged =
        one.bar.high === bar.high &&
        one.bar.low === bar.low &&
        Object.is(one.bar.volume, bar.volume) &&
        one.bar.quality === bar.quality;
      // the input itself exactly when the verdict changes none of its values
      expect([i, kept === bar]).toEqual([i, unchanged]);
      if (kept === bar) same++;
      else copies++;
    });
    expect(same).toBeGreaterThan(0);
    expect(copies).toBeGreaterThan(0);
    expect(b.counters()).toEqual(a.counters());
    expect(eventsB).toEqual(eventsA);
    expect(b.staleness('A', '1m')).toEqual(a.staleness('A', '1m'));
  });

  it('scores the series state the same for a listener that validates another bar', () => {
    const v = createValidator({ clock: new ManualClock(now) });
    const clean: Bar = {
      symbol: 'C',
      timeframe: '1m',
      ts: Date.UTC(2024, 0, 2),
      open: 1,
      high: 1.1,
      low: 0.9,
      close: 1,
      volume: 1,
      source: 'polygon',
      final: true,
      quality: 1,
    };
    // a listener that judges a clean bar overwrites the validator's scratch verdict
    let step = 0;
    v.onIssue(() => void v.keep({ ...clean, ts: clean.ts + ++step * TIMEFRAME_MS['1m'] }));
    const repaired = v.keep({ ...clean, symbol: 'D', high: 0.99999 });
    expect(repaired).toMatchObject({ high: 1, quality: 0.9 });
    expect(v.keep({ ...clean, symbol: 'E', close: NaN })).toBeNull();
  });
});

describe('validateSeries equals per-bar validate', () => {
  const now = Date.UTC(2024, 0, 2) + 400 * TIMEFRAME_MS['1m'];

  it.each([1, 2, 3, 4, 5])('on random faulty series (seed %i)', (seed) => {
    const { bars, reference } = faultySeries(400, seed);
    const rules = { flatline: { maxUnchangedUpdates: 3 } };
    const perBar = createValidator({ clock: new ManualClock(now), rules });
    const batch = createValidator({ clock: new ManualClock(now), rules });
    const res = batch.validateSeries(bars);
    const seen = new Set<number>();
    bars.forEach((b, i) => {
      const one = perBar.validate(b);
      expect([i, STATUS_CODES[one.status], one.quality]).toEqual([i, res.status[i], res.quality[i]]);
      const repair = res.repairs.find((x) => x.index === i);
      if (one.status === 'repaired')
        expect(repair).toEqual({ index: i, high: one.bar.high, low: one.bar.low, volume: one.bar.volume });
      else expect(repair).toBeUndefined();
      expect(one.issues).toEqual(res.issues.find((x) => x.index === i)?.issues ?? []);
      seen.add(res.status[i]!);
    });
    void reference;
    // the series exercises every series and value rule (schema and future need other inputs)
    const union = res.rules.reduce((a, m) => a | m, 0);
    for (const rule of [
      'nonFinite',
      'nonPositive',
      'ohlc',
      'volume',
      'misaligned',
      'order',
      'duplicate',
      'spike',
      'stale',
      'flatline',
    ] as const) {
      expect([rule, (union & RULE_BITS[rule]) !== 0]).toEqual([rule, true]);
    }
    // every verdict occurred, and the two validators counted the same
    expect([...seen].sort()).toEqual([0, 1, 2]);
    expect(batch.counters()).toEqual(perBar.counters());
    expect(res.accepted + res.repaired + res.rejected).toBe(bars.length);
  });

  it('columns give the same verdicts as bar objects, reference source included', () => {
    const { bars: all, reference: allRef } = faultySeries(2000, 9);
    const bars = all.filter((b) => b.symbol === 'A');
    const reference = allRef
      .filter((b) => b.symbol === 'A')
      .filter((b, i, arr) => i === 0 || b.ts > arr[i - 1]!.ts);
    const toCols = (list: Bar[]): BarColumns => ({
      symbol: 'A',
      timeframe: '1m',
      ts: Float64Array.from(list, (b) => b.ts),
      open: Float64Array.from(list, (b) => b.open),
      high: Float64Array.from(list, (b) => b.high),
      low: Float64Array.from(list, (b) => b.low),
      close: Float64Array.from(list, (b) => b.close),
      volume: Float64Array.from(list, (b) => b.volume),
      final: Uint8Array.from(list, (b) => (b.final ? 1 : 0)),
    });
    const v = createValidator({ clock: new ManualClock(now + 2000 * 60_000) });
    const fromRows = v.validateSeries(bars, { reference });
    const fromCols = v.validateSeries(toCols(bars), { reference: toCols(reference) });
    expect(fromCols.status).toEqual(fromRows.status);
    expect(fromCols.quality).toEqual(fromRows.quality);
    expect(fromCols.rules).toEqual(fromRows.rules);
    expect(fromCols.issues).toEqual(fromRows.issues);
    expect(fromRows.rules.some((m) => (m & RULE_BITS.disagreement) !== 0)).toBe(true);
    // per bar, with the reference of the same ts
    const perBar = createValidator({ clock: new ManualClock(now + 2000 * 60_000) });
    const refAt = new Map(reference.map((r) => [r.ts, r]));
    bars.forEach((b, i) => {
      const one = perBar.validate(b, { reference: refAt.get(b.ts) ?? null });
      expect([i, one.quality]).toEqual([i, fromRows.quality[i]]);
    });
  });
});

describe('series state', () => {
  const T = Date.UTC(2024, 0, 2);
  const mk = (i: number): Bar => ({
    symbol: 'X',
    timeframe: '1m',
    ts: T + i * 60_000,
    open: 1,
    high: 1.001,
    low: 0.999,
    close: 1,
    volume: 1,
    source: 'replay',
    final: true,
    quality: 1,
  });

  it('fresh (default) leaves the live state alone; shared continues it', () => {
    const v = createValidator({ clock: new ManualClock(T + 3_600_000) });
    v.validate(mk(10));
    expect(v.validateSeries([mk(1), mk(2)]).rejected).toBe(0);
    expect(v.validate(mk(11)).status).toBe('accepted');
    expect(v.validateSeries([mk(3)], { state: 'shared' }).rejected).toBe(1); // older than the live state
  });

  it('rejects malformed columns with a typed error, never bad values', () => {
    const v = createValidator();
    const cols: BarColumns = {
      symbol: 'X',
      timeframe: '1m',
      ts: [T],
      open: [1],
      high: [1],
      low: [1],
      close: [1, 2],
      volume: [0],
    };
    let caught: unknown;
    try {
      v.validateSeries(cols);
    } catch (err) {
      caught = err;
    }
    expect(isSeriesShapeError(caught)).toBe(true);
    expect((caught as Error).message).toBe('validateSeries: column "close" has length 2 but "ts" has 1');
    expect(() => v.validateSeries({ ...cols, close: [NaN] })).not.toThrow();
    expect(() => v.validateSeries({ ...cols, close: [1], timeframe: '2m' as never })).toThrow(
      'unknown timeframe "2m"',
    );
  });
});
