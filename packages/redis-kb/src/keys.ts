import { isRecord, isTimeframe, type Timeframe } from '@pipeline/core';

/** The fan-out streams, one per kind of event. */
export const STREAM_KINDS = { bars: 'bars', signals: 'signals' } as const;
export type StreamKind = (typeof STREAM_KINDS)[keyof typeof STREAM_KINDS];

/**
 * Where everything lives in Redis. The symbol sits in a hash tag (`{EURUSD}`), so all keys of one
 * symbol hash to one Redis Cluster slot; the fan-out streams span symbols and live on one shard each.
 */
export interface KeyLayout {
  readonly prefix: string;
  /** List of the last N bars, oldest first: `<prefix>bars:{EURUSD}:1m`. */
  bars(symbol: string, timeframe: Timeframe): string;
  /** Latest feature set (with a TTL): `<prefix>features:{EURUSD}`. */
  features(symbol: string): string;
  /** Latest signal (no TTL): `<prefix>signal:{EURUSD}`. */
  signal(symbol: string): string;
  /** Fan-out stream: `<prefix>stream:bars`, `<prefix>stream:signals`. */
  stream(kind: StreamKind): string;
}

export function createKeyLayout(prefix: string): KeyLayout {
  return Object.freeze({
    prefix,
    bars: (symbol: string, timeframe: Timeframe) => `${prefix}bars:{${symbol}}:${timeframe}`,
    features: (symbol: string) => `${prefix}features:{${symbol}}`,
    signal: (symbol: string) => `${prefix}signal:{${symbol}}`,
    stream: (kind: StreamKind) => `${prefix}stream:${kind}`,
  });
}

/** Longest symbol accepted, in characters (generic symbols are short; this bounds key sizes). */
export const MAX_SYMBOL_LENGTH = 64;

/**
 * True when `symbol` can be used in a key: non-empty, at most {@link MAX_SYMBOL_LENGTH} characters,
 * and without `{`, `}` (they would break the hash tag) or whitespace.
 */
export function isCacheableSymbol(symbol: unknown): symbol is string {
  return (
    typeof symbol === 'string' &&
    symbol.length > 0 &&
    symbol.length <= MAX_SYMBOL_LENGTH &&
    !UNCACHEABLE_SYMBOL_CHAR.test(symbol)
  );
}

/**
 * Hoisted: a regular expression literal inside the function is a new RegExp object each time it is
 * evaluated (56 bytes per bar written). No `g` flag, so `test` keeps no state between calls.
 */
const UNCACHEABLE_SYMBOL_CHAR = /[{}\s]/;

/** Why a bar cannot be cached, or null when it can. Only checks what the cache itself relies on. */
export function cacheIssue(bar: unknown): string | null {
  if (!isRecord(bar)) return 'not an object';
  if (!isCacheableSymbol(bar.symbol)) return `bad symbol ${JSON.stringify(bar.symbol)}`;
  if (!isTimeframe(bar.timeframe)) return `bad timeframe ${JSON.stringify(bar.timeframe)}`;
  if (typeof bar.ts !== 'number' || !Number.isSafeInteger(bar.ts)) return `bad ts ${JSON.stringify(bar.ts)}`;
  // Field by field rather than a loop over a list of names: no array per bar on the write path.
  if (!isFiniteNumber(bar.open)) return `bad open ${JSON.stringify(bar.open)}`;
  if (!isFiniteNumber(bar.high)) return `bad high ${JSON.stringify(bar.high)}`;
  if (!isFiniteNumber(bar.low)) return `bad low ${JSON.stringify(bar.low)}`;
  if (!isFiniteNumber(bar.close)) return `bad close ${JSON.stringify(bar.close)}`;
  if (!isFiniteNumber(bar.volume)) return `bad volume ${JSON.stringify(bar.volume)}`;
  if (!isFiniteNumber(bar.quality)) return `bad quality ${JSON.stringify(bar.quality)}`;
  if (typeof bar.source !== 'string') return `bad source ${JSON.stringify(bar.source)}`;
  return null;
}

function isFiniteNumber(x: unknown): boolean {
  return typeof x === 'number' && Number.isFinite(x);
}
