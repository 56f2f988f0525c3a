import { TIMEFRAME_MS, alignTs, isFetchError, type Bar, type Timeframe } from '@pipeline/core';
import { AllSourcesFailedError, SIDECAR_ERROR_CODES, type SourceAttempt } from '../errors';
import { type BreakerPort, type SourceSlot } from '../ports';

/** Why a source is not asked right now, or null when it may be asked. */
export function skipReason(
  slot: SourceSlot,
  breaker: BreakerPort,
  timeframe: Timeframe | null,
): SourceAttempt['outcome'] | null {
  if (timeframe !== null && !slot.fetcher.capabilities.timeframes.includes(timeframe))
    return 'skipped_unsupported';
  if (!breaker.isCallable(slot.name)) return 'skipped_open';
  const b = slot.fetcher.budget();
  if (b.perMinuteLeft === 0 || b.perDayLeft === 0) return 'skipped_budget';
  return null;
}

export interface FallbackResult<T> {
  value: T;
  source: SourceSlot['name'];
  attempts: SourceAttempt[];
}

/**
 * Runs `call` against each source in fallback order until one succeeds, in the same cycle: sources
 * whose breaker is open, whose budget is spent or which lack the timeframe are skipped; a failure
 * moves on unless the error says not to (an abort). Throws {@link AllSourcesFailedError} with every
 * attempt when none succeeded.
 */
export async function withFallback<T>(
  slots: readonly SourceSlot[],
  breaker: BreakerPort,
  symbol: string,
  /** Skip sources that lack this timeframe; null: the call picks its own. */
  timeframe: Timeframe | null,
  call: (slot: SourceSlot, signal: AbortSignal) => Promise<T>,
  now: () => number,
  signal?: AbortSignal,
  /**
   * An answer this rejects counts as a failed attempt (`SIDECAR_EMPTY_ANSWER`) and the next source
   * is asked. `sentAt` is when the request went out: an answer is judged by what the source could
   * know then, not by when it arrived.
   */
  accept?: (value: T, sentAt: number) => boolean,
): Promise<FallbackResult<T>> {
  const attempts: SourceAttempt[] = [];
  for (const slot of slots) {
    const skip = skipReason(slot, breaker, timeframe);
    if (skip) {
      attempts.push({ source: slot.name, outcome: skip });
      continue;
    }
    const t0 = now();
    try {
      const value = await breaker.execute(
        slot.name,
        (inner) => call(slot, inner),
        signal ? { signal } : undefined,
      );
      if (accept && !accept(value, t0)) {
        attempts.push({
          source: slot.name,
          outcome: 'failed',
          code: SIDECAR_ERROR_CODES.EMPTY_ANSWER,
          latencyMs: now() - t0,
        });
        continue;
      }
      attempts.push({ source: slot.name, outcome: 'ok', latencyMs: now() - t0 });
      return { value, source: slot.name, attempts };
    } catch (error) {
      const code = isFetchError(error) || isCoded(error) ? error.code : undefined;
      attempts.push({ source: slot.name, outcome: 'failed', code, error, latencyMs: now() - t0 });
      if (isFetchError(error) && !error.tryNextSource) break;
    }
  }
  throw new AllSourcesFailedError(symbol, attempts);
}

function isCoded(e: unknown): e is { code: string } {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string';
}

/** Fetches the latest bars of one symbol from the first source that answers. */
export function fetchLatestWithFallback(
  slots: readonly SourceSlot[],
  breaker: BreakerPort,
  symbol: string,
  timeframe: Timeframe,
  limit: number,
  now: () => number,
  signal?: AbortSignal,
): Promise<FallbackResult<Bar[]>> {
  // A current answer holds the forming bar or the one just closed when the request was sent;
  // anything older (or nothing) means the source has no live data for the symbol now, so the next
  // source is asked. Judged at the send time: a source that lists completed bars only (Alpha
  // Vantage) answers a request sent just before a minute boundary with the bar before, and that
  // answer may arrive after the boundary.
  const current = (bars: Bar[], sentAt: number) => {
    const since = alignTs(sentAt, timeframe) - TIMEFRAME_MS[timeframe];
    return bars.some((b) => b.ts >= since);
  };
  return withFallback(
    slots,
    breaker,
    symbol,
    timeframe,
    (slot, inner) => slot.fetcher.fetchLatest({ symbol, timeframe, limit, signal: inner }),
    now,
    signal,
    current,
  );
}

/** Runs `fn` over `items` with at most `limit` in flight; resolves when all settled. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
