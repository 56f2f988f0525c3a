// cacheIssue as it was before the issue-16 hot-path rework (commit 5b1df61): the reference. Not shipped.
import { isRecord, isTimeframe } from '@pipeline/core';
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
    !/[{}\s]/.test(symbol)
  );
}

/** Why a bar cannot be cached, or null when it can. Only checks what the cache itself relies on. */
export function cacheIssue(bar: unknown): string | null {
  if (!isRecord(bar)) return 'not an object';
  if (!isCacheableSymbol(bar.symbol)) return `bad symbol ${JSON.stringify(bar.symbol)}`;
  if (!isTimeframe(bar.timeframe)) return `bad timeframe ${JSON.stringify(bar.timeframe)}`;
  if (typeof bar.ts !== 'number' || !Number.isSafeInteger(bar.ts)) return `bad ts ${JSON.stringify(bar.ts)}`;
  for (const f of ['open', 'high', 'low', 'close', 'volume', 'quality'] as const) {
    if (typeof bar[f] !== 'number' || !Number.isFinite(bar[f])) return `bad ${f} ${JSON.stringify(bar[f])}`;
  }
  if (typeof bar.source !== 'string') return `bad source ${JSON.stringify(bar.source)}`;
  return null;
}
