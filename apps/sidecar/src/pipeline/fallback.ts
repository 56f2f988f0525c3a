import { TIMEFRAME_MS, alignTs, isFetchError, type Bar, type Timeframe } from '@pipeline/core';
import { type BatchFetcher, type FetchLatestManyResult } from '@pipeline/fetchers';
import { AllSourcesFailedError, EmptyAnswerError, type SourceAttempt } from '../errors';
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

/** What {@link withFallback} runs and against which sources. */
export interface WithFallbackOptions<T> {
  /** Sources in fallback order. */
  slots: readonly SourceSlot[];
  breaker: BreakerPort;
  /** For the error thrown when every source failed. */
  symbol: string;
  /** Skip sources that lack this timeframe; null: the call picks its own. */
  timeframe: Timeframe | null;
  /** Asks one source; `signal` is the breaker's (aborted on timeout or shutdown). */
  call: (slot: SourceSlot, signal: AbortSignal) => Promise<T>;
  /** Clock for attempt latencies, epoch ms. */
  now: () => number;
  /** Cancels the whole attempt (shutdown). @default none */
  signal?: AbortSignal;
  /**
   * An answer this rejects counts as a failed attempt (`SIDECAR_EMPTY_ANSWER`, counted by the
   * breaker like an error) and the next source is asked. `sentAt` is when the request went out: an answer is judged by what the source could
   * know then, not by when it arrived. @default every answer is accepted
   */
  accept?: (value: T, sentAt: number) => boolean;
  /**
   * The request planner's word on asking `slot` now; false skips it as `skipped_budget` (its share
   * of the provider's budget is spent for now). @default every source may be asked
   */
  admit?: (slot: SourceSlot) => boolean;
  /**
   * Index in `slots` of the first source to try: the ones before it were tried already (a batch
   * request of the cycle, see {@link fetchLatestBatch}), their outcome is in `attempts`. @default 0
   */
  from?: number;
  /** Attempts made before this call; they lead the result's (or the error's) attempts. @default none */
  attempts?: readonly SourceAttempt[];
}

/**
 * Runs `call` against each source in fallback order until one succeeds, in the same cycle: sources
 * whose breaker is open, whose budget is spent or which lack the timeframe are skipped; a failure
 * moves on unless the error says not to (an abort). Throws {@link AllSourcesFailedError} with every
 * attempt when none succeeded.
 */
export async function withFallback<T>(options: WithFallbackOptions<T>): Promise<FallbackResult<T>> {
  const { breaker, call, now, signal, accept, slots } = options;
  const attempts: SourceAttempt[] = options.attempts ? [...options.attempts] : [];
  for (let i = options.from ?? 0; i < slots.length; i++) {
    const slot = slots[i];
    if (slot === undefined) break; // i < slots.length
    const skip =
      skipReason(slot, breaker, options.timeframe) ??
      (options.admit && !options.admit(slot) ? 'skipped_budget' : null);
    if (skip) {
      attempts.push({ source: slot.name, outcome: skip });
      continue;
    }
    const t0 = now();
    try {
      // The acceptance check runs inside the breaker's call: an empty answer throws there, so the
      // circuit counts it like an error (same threshold), instead of a success that hides an outage.
      const value = await breaker.execute(
        slot.name,
        async (inner) => {
          const v = await call(slot, inner);
          if (accept && !accept(v, t0)) throw new EmptyAnswerError(slot.name, options.symbol);
          return v;
        },
        signal ? { signal } : undefined,
      );
      attempts.push({ source: slot.name, outcome: 'ok', latencyMs: now() - t0 });
      return { value, source: slot.name, attempts };
    } catch (error) {
      const code = isFetchError(error) || isCoded(error) ? error.code : undefined;
      attempts.push({ source: slot.name, outcome: 'failed', code, error, latencyMs: now() - t0 });
      if (isFetchError(error) && !error.tryNextSource) break;
    }
  }
  throw new AllSourcesFailedError(options.symbol, attempts);
}

function isCoded(e: unknown): e is { code: string } {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string';
}

/**
 * Whether an answer is current: it holds the forming bar or the one just closed when the request
 * was sent. Anything older (or nothing) means the source has no live data for the symbol now, so the
 * next source is asked. Judged at the send time: a source that lists completed bars only (Alpha
 * Vantage) answers a request sent just before a minute boundary with the bar before, and that answer
 * may arrive after the boundary.
 */
export function isCurrentAnswer(bars: readonly Bar[], sentAt: number, timeframe: Timeframe): boolean {
  const since = alignTs(sentAt, timeframe) - TIMEFRAME_MS[timeframe];
  for (let i = bars.length - 1; i >= 0; i--) if ((bars[i]?.ts ?? -Infinity) >= since) return true;
  return false;
}

/** What {@link fetchLatestWithFallback} asks for. */
export interface FetchLatestOptions extends Pick<
  WithFallbackOptions<Bar[]>,
  'slots' | 'breaker' | 'symbol' | 'now' | 'signal' | 'admit' | 'from' | 'attempts'
> {
  timeframe: Timeframe;
  /** Bars asked for (the forming bar and the ones before it). */
  limit: number;
}

/** Fetches the latest bars of one symbol from the first source that answers. */
export function fetchLatestWithFallback(options: FetchLatestOptions): Promise<FallbackResult<Bar[]>> {
  const { symbol, timeframe, limit } = options;
  return withFallback({
    ...options,
    call: (slot, inner) => slot.fetcher.fetchLatest({ symbol, timeframe, limit, signal: inner }),
    accept: (bars, sentAt) => isCurrentAnswer(bars, sentAt, timeframe),
  });
}

/** What {@link fetchLatestBatch} asks one batch source for. */
export interface FetchLatestBatchOptions {
  source: SourceSlot['name'];
  fetcher: BatchFetcher;
  breaker: BreakerPort;
  /** At most the source's `batchLatest.maxSymbols`. */
  symbols: readonly string[];
  timeframe: Timeframe;
  /** Bars asked for per symbol. */
  limit: number;
  /** When the request goes out, epoch ms (an answer is current by what the source could know then). */
  sentAt: number;
  /** Cancels the request (shutdown). @default none */
  signal?: AbortSignal;
}

/**
 * The latest bars of many symbols from one batch source (`fetchLatestMany`) in ONE call through its
 * breaker, so the circuit and its bookkeeping see one request per batch rather than one per symbol.
 * An answer in which no symbol is current throws {@link EmptyAnswerError} inside the breaker's call
 * (the circuit counts it like an error, as {@link withFallback} does for one symbol); a failure of
 * the whole request is thrown. The caller reads each symbol's entry: its bars (check them with
 * {@link isCurrentAnswer}), its own FetchError, or nothing; each of those falls back on its own.
 */
export function fetchLatestBatch(options: FetchLatestBatchOptions): Promise<FetchLatestManyResult> {
  const { fetcher, symbols, timeframe, limit, sentAt } = options;
  return options.breaker.execute(
    options.source,
    async (inner) => {
      const answers = await fetcher.fetchLatestMany({ symbols, timeframe, limit, signal: inner });
      for (const got of answers.values())
        if (Array.isArray(got) && isCurrentAnswer(got, sentAt, timeframe)) return answers;
      throw new EmptyAnswerError(options.source, `any of ${symbols.length} symbols`);
    },
    options.signal ? { signal: options.signal } : undefined,
  );
}

/** Runs `fn` over `items` with at most `limit` in flight; resolves when all settled. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  // One iterator shared by the workers: each takes the next item when it is free.
  const next = items[Symbol.iterator]();
  const worker = async () => {
    for (let r = next.next(); r.done !== true; r = next.next()) await fn(r.value);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
