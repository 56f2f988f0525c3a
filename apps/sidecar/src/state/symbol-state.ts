// Per-symbol collection state and the one staleness rule that /health, /bars, /features and the
// signals all apply (state/freshness.ts: from the answers and from the data itself).
import { type Bar, type CalendarSpec, SequentialMap, type SourceName, type Timeframe } from '@pipeline/core';
import { type SourceAttempt } from '../errors';
import { judgeFreshness, judgeStale, type CalendarOf, type Freshness } from './freshness';

/** Per-symbol state after the latest cycle. */
export interface SymbolState {
  symbol: string;
  brokerSymbol: string;
  lastBar: Bar | null;
  /** When a source last answered for it, epoch ms. */
  lastSuccessAt: number | null;
  lastSource: SourceName | null;
  /** When the newest bar last changed (a newer bar, or new values of the forming one), epoch ms. */
  lastAdvanceAt: number | null;
  consecutiveFailures: number;
  lastAttempts: readonly SourceAttempt[];
}

/**
 * The answer part of the staleness rule: stale when no source ever answered (`ageMs` null) or when
 * the last answer is older than `staleAfterMs` (STALE_AFTER). The whole rule, with the data's own
 * advance, is {@link SymbolStates.freshness}.
 */
export function isStale(ageMs: number | null, staleAfterMs: number): boolean {
  return ageMs === null || ageMs > staleAfterMs;
}

/** Age of a symbol's data, ms since a source last answered for it, or null when none ever did. */
export function ageOf(state: SymbolState, now: number): number | null {
  return state.lastSuccessAt === null ? null : now - state.lastSuccessAt;
}

export interface SymbolStates {
  /** The state of a configured symbol; throws for any other (callers resolve symbols first). */
  get(symbol: string): SymbolState;
  /** The state of a symbol, or undefined when it is not collected. */
  find(symbol: string): SymbolState | undefined;
  has(symbol: string): boolean;
  /** Every symbol's state, in configuration order. */
  all(): IterableIterator<SymbolState>;
  /** Age, stale flag and stale reason of a symbol's data now (state/freshness.ts). */
  freshness(state: SymbolState, now: number): Freshness;
  /** {@link freshness}'s `stale` alone, without its object. */
  stale(state: SymbolState, now: number): boolean;
}

export interface SymbolStatesOptions {
  symbols: readonly string[];
  /** Generic to broker spelling. */
  toBroker: (symbol: string) => string;
  /** STALE_AFTER in ms. */
  staleAfterMs: number;
  /** The collected timeframe: a newest bar older than it allows is stale. @default none */
  timeframe?: Timeframe;
  /**
   * A symbol's trading calendar: while open, data that stops advancing is stale. Asked once per
   * symbol, when the rule first needs it (a symbol's calendar does not change). @default none
   */
  calendarFor?: (symbol: string) => CalendarSpec;
}

/** Not asked yet (a calendar may be undefined: none). */
const UNASKED = Symbol('unasked');

/**
 * A symbol's state: the {@link SymbolState} fields, in its order, and, not enumerable, its calendar
 * once asked (issue 16: the freshness rule runs for every symbol every cycle).
 */
class StateEntry implements SymbolState {
  symbol: string;
  brokerSymbol: string;
  lastBar: Bar | null = null;
  lastSuccessAt: number | null = null;
  lastSource: SourceName | null = null;
  lastAdvanceAt: number | null = null;
  consecutiveFailures = 0;
  lastAttempts: readonly SourceAttempt[] = [];
  #calendar: CalendarSpec | undefined | typeof UNASKED = UNASKED;
  constructor(symbol: string, brokerSymbol: string) {
    this.symbol = symbol;
    this.brokerSymbol = brokerSymbol;
  }
  /** The calendar of a state of ours (asked once), or of any other facts (asked each time). */
  static readonly calendarOf: CalendarOf = (facts, options) => {
    if (!(#calendar in facts)) return options.calendarFor?.(facts.symbol);
    const known = facts.#calendar;
    if (known !== UNASKED) return known;
    return (facts.#calendar = options.calendarFor?.(facts.symbol));
  };
}

export function createSymbolStates(options: SymbolStatesOptions): SymbolStates {
  /**
   * A cycle asks for the symbols mostly in configuration order, several times each (collect, then
   * the stream feed's features): the state last found and the one that followed it last time are
   * tried first, by symbol, before the Map (set in configuration order, which is the first guess).
   */
  const states = new SequentialMap<string, StateEntry>();
  /** The states in configuration order. */
  const order: StateEntry[] = [];
  for (const symbol of options.symbols) {
    if (states.has(symbol)) continue;
    const entry = new StateEntry(symbol, options.toBroker(symbol));
    states.set(symbol, entry);
    order.push(entry);
  }
  const { calendarOf } = StateEntry;
  return {
    get(symbol) {
      const s = states.get(symbol);
      if (!s) throw new Error(`symbol state: ${symbol} is not collected`);
      return s;
    },
    find: (symbol) => states.get(symbol),
    has: (symbol) => states.has(symbol),
    all: () => order.values(),
    freshness: (state, now) => judgeFreshness(state, now, options, calendarOf),
    stale: (state, now) => judgeStale(state, now, options, calendarOf),
  };
}
