// Freshness from the data, not from the answers: a provider that keeps answering with the same frozen
// bar (its feed stopped, its answer did not) must not count as fresh. Three facts make data stale
// after STALE_AFTER, each named as the reason in /health:
//   no_answer  no source answered with a usable bar for STALE_AFTER (or none ever did)
//   frozen     while the market is open, the newest bar's time and values stopped advancing
//   old_bar    while the market is open, the newest bar ended more than STALE_AFTER ago (a current
//              answer holds this period's forming bar)
// Outside market hours only `no_answer` applies: a closed market's bar is rightly still.
import { TIMEFRAME_MS, resolveCalendar, type Bar, type CalendarSpec, type Timeframe } from '@pipeline/core';

export const STALE_REASONS = { noAnswer: 'no_answer', frozen: 'frozen', oldBar: 'old_bar' } as const;
export type StaleReason = (typeof STALE_REASONS)[keyof typeof STALE_REASONS];

/** What the rule reads of a symbol's state. */
export interface FreshnessFacts {
  symbol: string;
  lastBar: Bar | null;
  /** When a source last answered with a usable bar, epoch ms. */
  lastSuccessAt: number | null;
  /** When the newest bar last changed (a newer bar, or the forming bar's values), epoch ms. */
  lastAdvanceAt: number | null;
}

export interface Freshness {
  /** ms since the data was last current (the older of answered and advanced), or null. */
  ageMs: number | null;
  stale: boolean;
  /** Why it is stale, or null when fresh. */
  reason: StaleReason | null;
}

export interface FreshnessRuleOptions {
  /** STALE_AFTER in ms. */
  staleAfterMs: number;
  /** The collected timeframe (bounds how old the newest bar may be). @default none: no old_bar rule */
  timeframe?: Timeframe;
  /** A symbol's trading calendar. @default none: the data rules (frozen, old_bar) do not apply */
  calendarFor?: (symbol: string) => CalendarSpec;
}

/**
 * The last answer per named calendar and the minute it holds for: the built-in calendars ('fx',
 * '24x7', 'us-equity') open and close on whole minutes, so one lookup serves every symbol judged in the
 * same minute (freshness is judged per symbol several times a cycle).
 */
const openByMinute = new Map<string, { minute: number; open: boolean }>();

/** True when `symbol`'s market is open at `at` by its calendar. */
export function isMarketOpen(calendar: CalendarSpec, at: number): boolean {
  if (typeof calendar !== 'string') return resolveCalendar(calendar)(at, at + 1).length > 0;
  const minute = Math.floor(at / 60_000);
  const last = openByMinute.get(calendar);
  if (last?.minute === minute) return last.open;
  const open = resolveCalendar(calendar)(at, at + 1).length > 0;
  if (last) {
    last.minute = minute;
    last.open = open;
  } else openByMinute.set(calendar, { minute, open });
  return open;
}

/** Whether `next` advances the data over `prev`: a newer bar, or the same bar with other values. */
export function advances(prev: Bar | null, next: Bar): boolean {
  if (!prev || next.ts > prev.ts) return true;
  if (next.ts < prev.ts) return false;
  return (
    next.open !== prev.open ||
    next.high !== prev.high ||
    next.low !== prev.low ||
    next.close !== prev.close ||
    next.volume !== prev.volume ||
    next.final !== prev.final
  );
}

/**
 * The calendar of the symbol of `facts` (asked only once the rule needs it); the default reads
 * `options.calendarFor`. SymbolStates passes one that remembers each symbol's calendar.
 */
export type CalendarOf = (facts: FreshnessFacts, options: FreshnessRuleOptions) => CalendarSpec | undefined;

const calendarFromOptions: CalendarOf = (facts, options) => options.calendarFor?.(facts.symbol);

/** Outcome codes of {@link freshnessRule}: fresh, or the index of its reason in {@link REASON_OF_CODE}. */
const FRESH = 0;
const NO_ANSWER = 1;
const FROZEN = 2;
const OLD_BAR = 3;
const REASON_OF_CODE = [null, STALE_REASONS.noAnswer, STALE_REASONS.frozen, STALE_REASONS.oldBar] as const;

/** The age {@link freshnessRule} found with its last outcome (read right after the call). */
let ruleAgeMs: number | null = null;

/**
 * THE freshness rule (see the file header), once: returns an outcome code and leaves the age in
 * `ruleAgeMs`, so {@link judgeStale} needs no object and {@link judgeFreshness} builds one from it.
 */
function freshnessRule(
  facts: FreshnessFacts,
  now: number,
  options: FreshnessRuleOptions,
  calendarOf: CalendarOf,
): number {
  const { staleAfterMs } = options;
  ruleAgeMs = null;
  if (facts.lastSuccessAt === null) return NO_ANSWER;
  const answeredAge = now - facts.lastSuccessAt;
  ruleAgeMs = answeredAge;
  if (answeredAge > staleAfterMs) return NO_ANSWER;
  const calendar = calendarOf(facts, options);
  if (calendar === undefined || !isMarketOpen(calendar, now) || !facts.lastBar) return FRESH;
  const advancedAge = now - (facts.lastAdvanceAt ?? facts.lastSuccessAt);
  const ageMs = Math.max(answeredAge, advancedAge);
  ruleAgeMs = ageMs;
  if (advancedAge > staleAfterMs) return FROZEN;
  if (options.timeframe) {
    const endedAgo = now - (facts.lastBar.ts + TIMEFRAME_MS[options.timeframe]);
    // The market may have opened since that bar: only bars that ended in open hours count as old.
    if (endedAgo > staleAfterMs && isMarketOpen(calendar, now - staleAfterMs)) {
      ruleAgeMs = Math.max(ageMs, endedAgo);
      return OLD_BAR;
    }
  }
  return FRESH;
}

/** THE freshness rule (see the file header); `now` in epoch ms. */
export function judgeFreshness(
  facts: FreshnessFacts,
  now: number,
  options: FreshnessRuleOptions,
  calendarOf: CalendarOf = calendarFromOptions,
): Freshness {
  const code = freshnessRule(facts, now, options, calendarOf);
  return { ageMs: ruleAgeMs, stale: code !== FRESH, reason: REASON_OF_CODE[code] ?? null };
}

/**
 * {@link judgeFreshness}'s `stale` alone, without the object (the push stream's features event asks
 * once per symbol per cycle): the same rule, the same calendar lookups.
 */
export function judgeStale(
  facts: FreshnessFacts,
  now: number,
  options: FreshnessRuleOptions,
  calendarOf: CalendarOf = calendarFromOptions,
): boolean {
  return freshnessRule(facts, now, options, calendarOf) !== FRESH;
}
