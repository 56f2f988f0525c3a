// Per-symbol collection state and the one staleness rule that /health, /bars, /features and the
// signals all apply.
import { type Bar, type SourceName } from '@pipeline/core';
import { type SourceAttempt } from '../errors';

/** Per-symbol state after the latest cycle. */
export interface SymbolState {
  symbol: string;
  brokerSymbol: string;
  lastBar: Bar | null;
  /** When a source last answered for it, epoch ms. */
  lastSuccessAt: number | null;
  lastSource: SourceName | null;
  consecutiveFailures: number;
  lastAttempts: readonly SourceAttempt[];
}

/**
 * THE staleness rule: data is stale when no source ever answered (`ageMs` null) or when the last
 * answer is older than `staleAfterMs` (STALE_AFTER).
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
  /** Age and stale flag of a symbol's data now (see {@link isStale}). */
  freshness(state: SymbolState, now: number): { ageMs: number | null; stale: boolean };
}

export interface SymbolStatesOptions {
  symbols: readonly string[];
  /** Generic to broker spelling. */
  toBroker: (symbol: string) => string;
  /** STALE_AFTER in ms. */
  staleAfterMs: number;
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
    freshness(state, now) {
      const ageMs = ageOf(state, now);
      return { ageMs, stale: isStale(ageMs, options.staleAfterMs) };
    },
  };
}
