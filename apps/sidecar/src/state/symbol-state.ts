// Per-symbol collection state and the one staleness rule that /health, /bars, /features and the
// signals all apply (state/freshness.ts: from the answers and from the data itself).
import { type Bar, type CalendarSpec, type SourceName, type Timeframe } from '@pipeline/core';
import { type SourceAttempt } from '../errors';
import { judgeFreshness, type Freshness } from './freshness';

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
}

export interface SymbolStatesOptions {
  symbols: readonly string[];
  /** Generic to broker spelling. */
  toBroker: (symbol: string) => string;
  /** STALE_AFTER in ms. */
  staleAfterMs: number;
  /** The collected timeframe: a newest bar older than it allows is stale. @default none */
  timeframe?: Timeframe;
  /** A symbol's trading calendar: while open, data that stops advancing is stale. @default none */
  calendarFor?: (symbol: string) => CalendarSpec;
}

export function createSymbolStates(options: SymbolStatesOptions): SymbolStates {
  const states = new Map<string, SymbolState>();
  for (const symbol of options.symbols) {
    states.set(symbol, {
      symbol,
      brokerSymbol: options.toBroker(symbol),
      lastBar: null,
      lastSuccessAt: null,
      lastSource: null,
      lastAdvanceAt: null,
      consecutiveFailures: 0,
      lastAttempts: [],
    });
  }
  return {
    get(symbol) {
      const s = states.get(symbol);
      if (!s) throw new Error(`symbol state: ${symbol} is not collected`);
      return s;
    },
    find: (symbol) => states.get(symbol),
    has: (symbol) => states.has(symbol),
    all: () => states.values(),
    freshness: (state, now) => judgeFreshness(state, now, options),
  };
}
