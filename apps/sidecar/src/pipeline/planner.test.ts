import { ManualClock, type SourceName } from '@pipeline/core';
import { createScriptedFetcher } from '../../test/scripted-fetcher';
import { type SourceSlot } from '../ports';
import { createBreakerFromConfig } from '../wiring/wiring';
import { testConfig } from '../../test/harness';
import { createRequestPlanner, windowBuckets } from './planner';

type Limits = { perSecond?: number | null; perMinute: number | null; perDay: number | null };

const T0 = Date.UTC(2024, 0, 3, 12, 0, 0);
const SYMBOLS = ['EURUSD', 'XAUUSD', 'NAS100'];

function slot(name: SourceName, clock: ManualClock, rateLimits: Limits): SourceSlot {
  const f = createScriptedFetcher(name, clock);
  return { name, fetcher: { ...f, capabilities: { ...f.capabilities, rateLimits } } };
}

/** Runs the planner's cycles every `intervalMs` for `durationMs`; returns the request times per source and symbol. */
function simulate(
  limits: Partial<Record<SourceName, Limits>>,
  opts: { durationMs: number; intervalMs?: number; failing?: SourceName[] },
) {
  const clock = new ManualClock(T0);
  const sources = Object.entries(limits).map(([n, l]) => slot(n as SourceName, clock, l));
  const breaker = createBreakerFromConfig(testConfig({ SQLITE_PATH: ':memory:' }), clock);
  const intervalMs = opts.intervalMs ?? 1000;
  const planner = createRequestPlanner({
    sources,
    breaker,
    timeframe: '1m',
    intervalMs,
    symbols: SYMBOLS.length,
    now: () => clock.now(),
  });
  const sent = new Map<SourceName, number[]>();
  const polled = new Map<string, number[]>();
  for (let t = T0; t < T0 + opts.durationMs; t += intervalMs) {
    clock.set(t);
    const due = planner.beginCycle(SYMBOLS, t);
    for (const symbol of due) {
      // Each symbol walks the fallback order, as fetchLatestWithFallback does with `admit`.
      for (const s of sources) {
        if (!planner.admit(s.name, symbol, t)) continue;
        sent.set(s.name, [...(sent.get(s.name) ?? []), t]);
        if (opts.failing?.includes(s.name)) continue;
        polled.set(symbol, [...(polled.get(symbol) ?? []), t]);
        break;
      }
    }
  }
  breaker.close();
  return { sent, polled, planner };
}

/** Most requests in any window [t, t + windowMs] (both ends included), t at every request. */
function maxInWindow(times: readonly number[], windowMs: number): number {
  let max = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while ((times[i] ?? 0) - (times[j] ?? 0) > windowMs) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}

const maxGap = (times: readonly number[]) =>
  times.slice(1).reduce((m, t, i) => Math.max(m, t - (times[i] ?? t)), 0);

describe('request planner', () => {
  it('spreads Yahoo 60/min over the minute for 3 symbols at 1 s: every symbol every few seconds, never over the limit', () => {
    const { sent, polled, planner } = simulate(
      { yahoo: { perMinute: 60, perDay: null } },
      { durationMs: 600_000 },
    );
    const yahoo = sent.get('yahoo')!;
    // Never more than 60 in any minute, also in the fetcher's widened window (60 s + 2 %).
    expect(maxInWindow(yahoo, 60_000)).toBeLessThanOrEqual(60);
    expect(maxInWindow(yahoo, 61_200)).toBeLessThanOrEqual(60);
    // Spent across the whole minute: the source is never silent for more than 2 s...
    expect(maxGap(yahoo)).toBeLessThanOrEqual(2_000);
    // ...and uses most of its budget (about 55 a minute).
    expect(yahoo.length / 10).toBeGreaterThan(50);
    for (const s of SYMBOLS) expect(maxGap(polled.get(s)!)).toBeLessThanOrEqual(5_000);
    const plan = planner.plan()[0];
    expect(plan).toMatchObject({ source: 'yahoo', limitedBy: 'minute', symbols: 3 });
    expect(plan?.refreshMs).toBeGreaterThan(3_000);
    expect(plan?.refreshMs).toBeLessThan(4_000);
    expect(planner.refreshIntervals().yahoo).toBeCloseTo((plan?.refreshMs ?? NaN) / 1000, 6);
  });

  it('spreads Twelve Data 8/min over the minute: one symbol every 8 s or so, never a burst and 50 s of silence', () => {
    // The minute window alone (a paid day quota); the free plan's 800 a day is the next test.
    const { sent, polled } = simulate(
      { twelvedata: { perMinute: 8, perDay: null } },
      { durationMs: 900_000 },
    );
    const td = sent.get('twelvedata')!;
    expect(maxInWindow(td, 60_000)).toBeLessThanOrEqual(8);
    expect(maxInWindow(td, 61_200)).toBeLessThanOrEqual(8);
    expect(maxGap(td)).toBeLessThanOrEqual(9_000);
    for (const s of SYMBOLS) expect(maxGap(polled.get(s)!)).toBeLessThanOrEqual(30_000);
  });

  it('spreads Twelve Data 800/day over the day: the day, not the minute, sets its pace', () => {
    const { sent, planner } = simulate(
      { twelvedata: { perMinute: 8, perDay: 800 } },
      { durationMs: 86_400_000, intervalMs: 5_000 },
    );
    const td = sent.get('twelvedata')!;
    expect(maxInWindow(td, 61_200)).toBeLessThanOrEqual(8);
    expect(maxInWindow(td, 86_400_000)).toBeLessThanOrEqual(800);
    expect(td.length).toBeGreaterThan(700);
    expect(maxGap(td)).toBeLessThanOrEqual(120_000);
    expect(planner.plan()[0]).toMatchObject({ limitedBy: 'day', symbols: 3 });
  });

  it('keeps Alpha Vantage within 1 a second, 5 a minute and 25 a day', () => {
    const { sent, planner } = simulate(
      { alphavantage: { perSecond: 1, perMinute: 5, perDay: 25 } },
      { durationMs: 86_400_000, intervalMs: 10_000 },
    );
    const av = sent.get('alphavantage')!;
    expect(maxInWindow(av, 1_250)).toBeLessThanOrEqual(1);
    expect(maxInWindow(av, 61_200)).toBeLessThanOrEqual(5);
    expect(maxInWindow(av, 86_400_000)).toBeLessThanOrEqual(25);
    // The day's budget is spread too: no more than a couple of hours without a request.
    expect(maxGap(av)).toBeLessThanOrEqual(2 * 3_600_000);
    expect(planner.plan()[0]?.limitedBy).toBe('day');
  });

  it('asks every symbol once more after each minute closes', () => {
    const { polled } = simulate({ yahoo: { perMinute: 60, perDay: null } }, { durationMs: 600_000 });
    for (let m = 1; m < 10; m++) {
      const close = T0 + m * 60_000;
      for (const s of SYMBOLS) {
        const after = polled.get(s)!.find((t) => t >= close)!;
        expect(after - close).toBeLessThanOrEqual(3_000);
      }
    }
  });

  it('a fallback after a failure takes its own source tokens: both stay within their limits', () => {
    const { sent } = simulate(
      { yahoo: { perMinute: 60, perDay: null }, twelvedata: { perMinute: 8, perDay: null } },
      { durationMs: 300_000, failing: ['yahoo'] },
    );
    expect(maxInWindow(sent.get('yahoo')!, 61_200)).toBeLessThanOrEqual(60);
    const td = sent.get('twelvedata')!;
    expect(td.length).toBeGreaterThan(30);
    expect(maxInWindow(td, 61_200)).toBeLessThanOrEqual(8);
  });

  it('a source without published limits is asked every cycle for every symbol', () => {
    const { sent } = simulate({ synthetic: { perMinute: null, perDay: null } }, { durationMs: 10_000 });
    expect(sent.get('synthetic')!.length).toBe(30);
  });

  it('returns the same set (read-only by type) while every symbol of the same list is granted, a new one when that changes', () => {
    const clock = new ManualClock(T0);
    const breaker = createBreakerFromConfig(testConfig({ SQLITE_PATH: ':memory:' }), clock);
    const planner = createRequestPlanner({
      sources: [slot('synthetic', clock, { perMinute: null, perDay: null })],
      breaker,
      timeframe: '1m',
      intervalMs: 1000,
      symbols: 3,
      now: () => clock.now(),
    });
    const first = planner.beginCycle(SYMBOLS, T0);
    expect([...first]).toEqual(SYMBOLS);
    // The same names in another array (cluster mode filters the list every cycle): the same set.
    expect(planner.beginCycle([...SYMBOLS], T0 + 1000)).toBe(first);
    // Read-only by its type (checked by tsc, never run): add, delete and clear do not compile.
    const change = () => {
      // @ts-expect-error a ReadonlySet has no add
      first.add('BTCUSD');
      // @ts-expect-error a ReadonlySet has no delete
      first.delete('EURUSD');
      // @ts-expect-error a ReadonlySet has no clear
      first.clear();
    };
    void change;
    const fewer = planner.beginCycle(['EURUSD', 'NAS100'], T0 + 2000);
    expect([...fewer]).toEqual(['EURUSD', 'NAS100']);
    expect([...first]).toEqual(SYMBOLS); // a set handed out is never changed
    expect(planner.beginCycle(['EURUSD', 'NAS100'], T0 + 3000)).toBe(fewer);
    expect(planner.beginCycle(SYMBOLS, T0 + 4000)).not.toBe(first);
    breaker.close();
  });

  it("a cycle's grant is used once; the next ask in the same cycle takes tokens, and a short budget grants a new set", () => {
    const clock = new ManualClock(T0);
    const breaker = createBreakerFromConfig(testConfig({ SQLITE_PATH: ':memory:' }), clock);
    const planner = createRequestPlanner({
      sources: [slot('yahoo', clock, { perMinute: 60, perDay: null })],
      breaker,
      timeframe: '1m',
      intervalMs: 1000,
      symbols: 3,
      now: () => clock.now(),
    });
    // The minute's burst is one round of the 3 symbols: all granted, no token left.
    const due = planner.beginCycle(SYMBOLS, T0);
    expect([...due]).toEqual(SYMBOLS);
    // Asked out of list order (admit looks the list order up first): each grant is found all the same.
    for (const s of ['XAUUSD', 'NAS100', 'EURUSD']) expect(planner.admit('yahoo', s, T0)).toBe(true);
    expect(planner.admit('yahoo', 'EURUSD', T0)).toBe(false);
    expect(planner.admit('yahoo', 'BTCUSD', T0)).toBe(false); // not listed, no token left
    // A second later about one token came back: the round is not affordable, one symbol is granted
    // (the order: polled longest ago, then configuration order), in a set of its own.
    clock.set(T0 + 1500);
    const next = planner.beginCycle(SYMBOLS, T0 + 1500);
    expect([...next]).toEqual(['EURUSD']);
    expect([...due]).toEqual(SYMBOLS);
    expect(planner.admit('yahoo', 'XAUUSD', T0 + 1500)).toBe(false);
    expect(planner.admit('yahoo', 'EURUSD', T0 + 1500)).toBe(true);
    breaker.close();
  });

  it('reports the sources whose budget cannot give the configured interval', () => {
    const clock = new ManualClock(T0);
    const breaker = createBreakerFromConfig(testConfig({ SQLITE_PATH: ':memory:' }), clock);
    const planner = createRequestPlanner({
      sources: [
        slot('yahoo', clock, { perMinute: 60, perDay: null }),
        slot('synthetic', clock, { perMinute: null, perDay: null }),
        slot('polygon', clock, { perMinute: 600, perDay: null }),
      ],
      breaker,
      timeframe: '1m',
      intervalMs: 1000,
      symbols: 3,
      now: () => clock.now(),
    });
    expect(planner.shortfalls(3).map((p) => p.source)).toEqual(['yahoo']);
    // 60 a minute, less the margin, is a little under one a second.
    expect(planner.shortfalls(1).map((p) => p.source)).toEqual(['yahoo']);
    expect(planner.shortfalls(1)[0]?.refreshMs).toBeLessThan(1_200);
    breaker.close();
  });

  it('sizes the burst: the per-second limit, one round of symbols for the minute (at most a tenth of it)', () => {
    expect(
      windowBuckets({ perSecond: 1, perMinute: 5, perDay: 25 }, 3).map((w) => [w.window, w.cap]),
    ).toEqual([
      ['second', 1],
      ['minute', 1],
      ['day', 2],
    ]);
    expect(windowBuckets({ perMinute: 60, perDay: null }, 3).map((w) => w.cap)).toEqual([3]);
  });
});

describe('request planner in cluster mode (share of the shared budget)', () => {
  /** Requests sent over `minutes` by a planner planning `share` of a 60/min budget, at the given limits. */
  function sentWith(share: () => number, minutes: number, limitsFor?: (s: SourceSlot) => Limits) {
    const clock = new ManualClock(T0);
    const sources = [slot('yahoo', clock, { perMinute: 60, perDay: null })];
    const breaker = createBreakerFromConfig(testConfig({ SQLITE_PATH: ':memory:' }), clock);
    const planner = createRequestPlanner({
      sources,
      breaker,
      timeframe: '1m',
      intervalMs: 1000,
      symbols: 30,
      now: () => clock.now(),
      share,
      ...(limitsFor ? { limitsFor } : {}),
    });
    const symbols = Array.from({ length: 30 }, (_, i) => `S${i}`);
    const times: number[] = [];
    for (let t = T0; t < T0 + minutes * 60_000; t += 1000) {
      clock.set(t);
      for (const symbol of planner.beginCycle(symbols, t))
        if (planner.admit('yahoo', symbol, t)) times.push(t);
    }
    breaker.close();
    return { times, planner };
  }

  it("plans only this instance's share of each window: three instances together stay within the limit", () => {
    const full = sentWith(() => 1, 5);
    const third = sentWith(() => 1 / 3, 5);
    // Alone: about the whole 60 a minute. One of three: about 20 a minute, never over a third.
    expect(maxInWindow(full.times, 60_000)).toBeGreaterThan(50);
    expect(maxInWindow(third.times, 60_000)).toBeLessThanOrEqual(21);
    expect(maxInWindow(third.times, 60_000)).toBeGreaterThanOrEqual(15);
    expect(third.planner.plan()[0]?.plannedPerMinute).toBeLessThan(20);
    expect(third.planner.plan()[0]?.plannedPerMinute).toBeGreaterThan(15);
    // The limits shown stay the provider's.
    expect(third.planner.plan()[0]?.limits.perMinute).toBe(60);
  });

  it('resizes when the share changes (a member joins or leaves) and plans at the poll limits', () => {
    let share = 1 / 3;
    const clock = { minute: 0 };
    const run = sentWith(
      () => (clock.minute++ < 60 * 2 ? share : (share = 1)),
      4,
      () => ({ perMinute: 48, perDay: null }), // the poll limits: 60 less the 12 kept for history
    );
    const firstTwo = run.times.filter((t) => t < T0 + 2 * 60_000);
    const lastOne = run.times.filter((t) => t >= T0 + 3 * 60_000);
    expect(maxInWindow(firstTwo, 60_000)).toBeLessThanOrEqual(17); // 48 / 3 + 1
    expect(lastOne.length).toBeGreaterThan(40); // alone again: the whole 48
    expect(lastOne.length).toBeLessThanOrEqual(48);
  });
});
