import { type Bar, type FetchError, type Fetcher, type Timeframe } from '@pipeline/core';

/** The latest bars of many symbols, asked for in as few requests as the provider allows. */
export interface FetchLatestManyRequest {
  /** Generic symbols. */
  symbols: readonly string[];
  timeframe: Timeframe;
  /** Bars per symbol at most (the forming bar included). Default: the fetcher's latest limit. */
  limit?: number;
  signal?: AbortSignal;
}

/**
 * One entry per asked symbol: its bars (oldest first) or the FetchError of that symbol alone (an unknown
 * symbol, a plan that lacks it). A failure of the whole request (rate limit, network) is thrown instead.
 */
export type FetchLatestManyResult = Map<string, Bar[] | FetchError>;

/** A fetcher with a batch endpoint (Twelve Data, Polygon); see `capabilities.batchLatest`. */
export interface BatchFetcher extends Fetcher {
  fetchLatestMany(request: FetchLatestManyRequest): Promise<FetchLatestManyResult>;
}

/** Whether `fetcher` can answer many symbols in one request (checked by shape, not by class). */
export function isBatchFetcher(fetcher: Fetcher): fetcher is BatchFetcher {
  return (
    typeof (fetcher as Partial<BatchFetcher>).fetchLatestMany === 'function' &&
    fetcher.capabilities.batchLatest !== undefined
  );
}
