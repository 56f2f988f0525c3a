// Batch endpoints in the loop: a fetcher with `fetchLatestMany` (Twelve Data's comma-separated
// symbols, Polygon's multi-ticker snapshot) is wrapped so that the `fetchLatest` calls of one cycle
// that arrive together (same timeframe, within one event-loop turn) go out as ONE request; each
// caller gets its own symbol's bars or error. Everything else passes through.
import {
  FetchError,
  isFetchError,
  type Bar,
  type FetchLatestRequest,
  type Fetcher,
  type Timeframe,
} from '@pipeline/core';
import { isBatchFetcher, type BatchFetcher } from '@pipeline/fetchers';

interface Waiter {
  symbol: string;
  limit: number | undefined;
  resolve: (bars: Bar[]) => void;
  reject: (err: unknown) => void;
}

/** Whether the loop's latest-bar calls of `fetcher` for `timeframe` go out in batches. */
export function batchesLatest(fetcher: Fetcher, timeframe: Timeframe): boolean {
  return (
    isBatchFetcher(fetcher) && (fetcher.capabilities.batchLatest?.timeframes.includes(timeframe) ?? false)
  );
}

/**
 * Bars per symbol to ask a batch endpoint for: `wanted`, clipped to the source's `batchLatest.maxLimit`
 * (Polygon's snapshot answers one bar per ticker and refuses a larger limit before sending anything).
 */
export function batchLimit(fetcher: BatchFetcher, wanted: number): number {
  const max = fetcher.capabilities.batchLatest?.maxLimit ?? null;
  return max === null ? wanted : Math.min(wanted, max);
}

/**
 * Wraps a batch-capable fetcher (see `isBatchFetcher`); other fetchers are returned as they are.
 * `batches` counts the batch requests sent (for tests and logs).
 */
export function coalesceLatest(fetcher: Fetcher): Fetcher & { readonly batches: number } {
  const batch = fetcher.capabilities.batchLatest;
  if (!isBatchFetcher(fetcher) || !batch) return Object.assign(fetcher, { batches: 0 });
  const inner: BatchFetcher = fetcher;
  const { maxSymbols, timeframes } = batch;
  const queued = new Map<Timeframe, Waiter[]>();
  let batches = 0;

  function flush(timeframe: Timeframe): void {
    const all = queued.get(timeframe) ?? [];
    queued.delete(timeframe);
    for (let i = 0; i < all.length; i += maxSymbols) {
      const group = all.slice(i, i + maxSymbols);
      const symbols = [...new Set(group.map((w) => w.symbol))];
      const wanted = Math.max(...group.map((w) => w.limit ?? 1));
      const limit = batchLimit(inner, wanted);
      batches++;
      inner.fetchLatestMany({ symbols, timeframe, limit }).then(
        (result) => {
          for (const w of group) {
            const got = result.get(w.symbol);
            if (Array.isArray(got)) w.resolve(w.limit === undefined ? got : got.slice(-w.limit));
            else if (got && isFetchError(got)) w.reject(got);
            else
              w.reject(
                new FetchError({
                  kind: 'malformed',
                  source: inner.source,
                  symbol: w.symbol,
                  message: `the batch answer has no entry for ${w.symbol}`,
                }),
              );
          }
        },
        (err: unknown) => {
          for (const w of group) w.reject(err);
        },
      );
    }
  }

  const fetchLatest = (request: FetchLatestRequest): Promise<Bar[]> => {
    if (!timeframes.includes(request.timeframe)) return inner.fetchLatest(request);
    return new Promise<Bar[]>((resolve, reject) => {
      const list = queued.get(request.timeframe);
      const waiter: Waiter = { symbol: request.symbol, limit: request.limit, resolve, reject };
      // A caller that gives up (breaker timeout, shutdown) is answered at once; the batch goes on.
      const { signal } = request;
      signal?.addEventListener(
        'abort',
        () => {
          const why: unknown = signal.reason;
          reject(why instanceof Error ? why : new Error(String(why)));
        },
        { once: true },
      );
      if (list) list.push(waiter);
      else {
        queued.set(request.timeframe, [waiter]);
        setImmediate(() => flush(request.timeframe));
      }
    });
  };
  const wrapped: BatchFetcher & { readonly batches: number } = {
    source: inner.source,
    capabilities: inner.capabilities,
    fetchLatest,
    fetchLatestMany: (request) => inner.fetchLatestMany(request),
    fetchHistory: (request) => inner.fetchHistory(request),
    budget: () => inner.budget(),
    close: () => inner.close(),
    get batches() {
      return batches;
    },
  };
  return wrapped;
}
