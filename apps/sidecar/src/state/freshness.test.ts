import { resolveCalendar, type Bar } from '@pipeline/core';
import {
  advances,
  isMarketOpen,
  judgeFreshness,
  judgeStale,
  type FreshnessFacts,
  type FreshnessRuleOptions,
} from './freshness';

// Wednesday 2024-01-03 15:00 UTC: FX open, US equities open (10:00 New York).
const T = Date.UTC(2024, 0, 3, 15, 0, 0);
// Saturday 2024-01-06 12:00 UTC: FX and US equities closed.
const SAT = Date.UTC(2024, 0, 6, 12, 0, 0);
const MIN = 60_000;

const bar = (ts: number, close = 1.1, final = false): Bar => ({
  symbol: 'EURUSD',
  timeframe: '1m',
  ts,
  open: 1.1,
  high: Math.max(1.1, close),
  low: Math.min(1.1, close),
  close,
  volume: 0,
  source: 'yahoo',
  final,
  quality: 1,
});

const rule = { staleAfterMs: 10_000, timeframe: '1m' as const, calendarFor: () => 'fx' as const };

describe('freshness from the data', () => {
  it('knows when a market is open from core calendars', () => {
    expect(isMarketOpen('fx', T)).toBe(true);
    expect(isMarketOpen('fx', SAT)).toBe(false);
    expect(isMarketOpen('us-equity', T)).toBe(true);
    expect(isMarketOpen('us-equity', Date.UTC(2024, 0, 3, 22, 0))).toBe(false);
    expect(isMarketOpen('24x7', SAT)).toBe(true);
  });

  it('a newer bar or new values of the forming bar advance the data; the same bar again does not', () => {
    expect(advances(null, bar(T))).toBe(true);
    expect(advances(bar(T), bar(T + MIN))).toBe(true);
    expect(advances(bar(T), bar(T, 1.2))).toBe(true);
    expect(advances(bar(T), bar(T, 1.1, true))).toBe(true);
    expect(advances(bar(T), bar(T))).toBe(false);
    expect(advances(bar(T + MIN), bar(T))).toBe(false);
  });

  it('an answer older than STALE_AFTER is stale (no_answer), open market or not', () => {
    const f: FreshnessFacts = { symbol: 'EURUSD', lastBar: null, lastSuccessAt: null, lastAdvanceAt: null };
    expect(judgeFreshness(f, T, rule)).toEqual({ ageMs: null, stale: true, reason: 'no_answer' });
    const answered = {
      ...f,
      lastBar: bar(SAT - MIN),
      lastSuccessAt: SAT - 11_000,
      lastAdvanceAt: SAT - 11_000,
    };
    expect(judgeFreshness(answered, SAT, rule)).toMatchObject({ stale: true, reason: 'no_answer' });
  });

  it('while the market is open, answers repeating the same bar become stale (frozen) after STALE_AFTER', () => {
    const facts = { symbol: 'EURUSD', lastBar: bar(T), lastSuccessAt: T + 30_000, lastAdvanceAt: T + 20_000 };
    expect(judgeFreshness(facts, T + 30_000, rule)).toEqual({ ageMs: 10_000, stale: false, reason: null });
    expect(judgeFreshness({ ...facts, lastSuccessAt: T + 31_000 }, T + 31_000, rule)).toEqual({
      ageMs: 11_000,
      stale: true,
      reason: 'frozen',
    });
    // The same frozen bar on a closed market is no fault of the data.
    const closed = { ...facts, lastBar: bar(SAT), lastSuccessAt: SAT + 31_000, lastAdvanceAt: SAT };
    expect(judgeFreshness(closed, SAT + 31_000, rule)).toMatchObject({ stale: false, reason: null });
  });

  it('while the market is open, a newest bar that ended more than STALE_AFTER ago is stale (old_bar)', () => {
    // The previous minute's bar, still changing (a source that lags), answered and advanced just now.
    const facts = {
      symbol: 'EURUSD',
      lastBar: bar(T),
      lastSuccessAt: T + MIN + 11_000,
      lastAdvanceAt: T + MIN + 11_000,
    };
    expect(judgeFreshness(facts, T + MIN + 11_000, rule)).toMatchObject({
      stale: true,
      reason: 'old_bar',
      ageMs: 11_000,
    });
    expect(judgeFreshness(facts, T + MIN + 11_000, { ...rule, timeframe: undefined })).toMatchObject({
      stale: false,
    });
    expect(
      judgeFreshness(
        { ...facts, lastSuccessAt: T + MIN + 9_000, lastAdvanceAt: T + MIN + 9_000 },
        T + MIN + 9_000,
        rule,
      ),
    ).toMatchObject({ stale: false });
  });

  it('without a calendar only the answers count (the former rule)', () => {
    const facts = { symbol: 'EURUSD', lastBar: bar(T), lastSuccessAt: T + 60_000, lastAdvanceAt: T };
    expect(judgeFreshness(facts, T + 60_000, { staleAfterMs: 10_000 })).toEqual({
      ageMs: 0,
      stale: false,
      reason: null,
    });
  });

  it('answers isMarketOpen for the named calendars exactly as the calendar does, minute memo or not', () => {
    // Around FX's Friday close and Sunday open, New York's open and close, second by second and at random.
    const times: number[] = [];
    for (const edge of [
      Date.UTC(2024, 0, 5, 22, 0),
      Date.UTC(2024, 0, 7, 22, 0),
      Date.UTC(2024, 0, 3, 14, 30),
      Date.UTC(2024, 0, 3, 21, 0),
      Date.UTC(2024, 6, 3, 13, 30),
    ]) {
      for (let t = edge - 90_000; t <= edge + 90_000; t += 1000) times.push(t);
    }
    let seed = 7;
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 16807) % 2147483647;
      times.push(Date.UTC(2024, 0, 1) + (seed % (14 * 86_400_000)));
    }
    for (const calendar of ['fx', '24x7', 'us-equity'] as const) {
      for (const at of times) {
        expect([calendar, at, isMarketOpen(calendar, at)]).toEqual([
          calendar,
          at,
          resolveCalendar(calendar)(at, at + 1).length > 0,
        ]);
      }
    }
  });

  it('judgeStale gives judgeFreshness().stale, asking for the calendar only when that does', () => {
    const rules: FreshnessRuleOptions[] = [
      rule,
      { ...rule, timeframe: undefined },
      { staleAfterMs: 10_000 },
      { ...rule, calendarFor: () => 'us-equity' as const },
      { ...rule, calendarFor: () => '24x7' as const },
    ];
    const starts = [T, SAT, Date.UTC(2024, 0, 3, 21, 0), Date.UTC(2024, 0, 5, 21, 59, 30)];
    const offsets = [null, -70_000, -11_000, -10_000, -9_000, 0];
    let cases = 0;
    for (const base of rules)
      for (const now of starts)
        for (const success of offsets)
          for (const advance of offsets)
            for (const barAt of [null, now - 2 * MIN, now - MIN, now]) {
              const facts: FreshnessFacts = {
                symbol: 'EURUSD',
                lastBar: barAt === null ? null : bar(Math.floor(barAt / MIN) * MIN),
                lastSuccessAt: success === null ? null : now + success,
                lastAdvanceAt: advance === null ? null : now + advance,
              };
              const asked: string[] = [];
              const calendarFor = base.calendarFor;
              const counted: FreshnessRuleOptions = calendarFor
                ? { ...base, calendarFor: (s) => (asked.push(s), calendarFor(s)) }
                : base;
              const full = judgeFreshness(facts, now, counted);
              const fullAsked = asked.length;
              expect([facts, now, judgeStale(facts, now, counted)]).toEqual([facts, now, full.stale]);
              expect(asked.length).toBe(2 * fullAsked);
              cases++;
            }
    expect(cases).toBe(5 * 4 * 6 * 6 * 4);
  });
});
