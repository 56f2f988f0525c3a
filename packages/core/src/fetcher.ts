import { type Bar, type SourceName, type Timeframe } from './bar';

/** What a source can do; read it before asking, so callers never send a request that must fail. */
export interface SourceCapabilities {
  source: SourceName;
  /** Timeframes the source serves natively. */
  timeframes: readonly Timeframe[];
  /** How far back history reaches per timeframe, in milliseconds (absent: unlimited or unknown). */
  historyDepthMs: Partial<Record<Timeframe, number>>;
  /** Widest time range one request may cover per timeframe, in milliseconds (absent: no limit). */
  maxRangeMsPerRequest: Partial<Record<Timeframe, number>>;
  /** Most bars one request returns (absent: no documented limit). */
  maxBarsPerRequest?: number;
  needsApiKey: boolean;
  /** Request budgets; null where the source publishes none. */
  rateLimits: {
    /** Requests per rolling second (absent: the source publishes none, or an older fetcher). */
    perSecond?: number | null;
    perMinute: number | null;
    perDay: number | null;
  };
  /** True when the source can push bars (see the source's own streaming client). */
  streaming: boolean;
  /**
   * The source answers the latest bars of many symbols in one request (`fetchLatestMany` of the
   * fetcher); absent: one request per symbol.
   */
  batchLatest?: {
    /** Timeframes the batch endpoint serves. */
    timeframes: readonly Timeframe[];
    /** Most symbols in one request. */
    maxSymbols: number;
    /** Most bars per symbol in one answer; null: as many as a single request allows. */
    maxLimit: number | null;
    /** Budget units one symbol of a batch costs (Twelve Data: 1 credit per symbol; Polygon: 1 request for all: 0). */
    costPerSymbol: number;
  };
}

/** Requests left right now; null where the source has no such limit. */
export interface RateBudgetSnapshot {
  perMinuteLeft: number | null;
  perDayLeft: number | null;
  /** When the daily quota resets (epoch ms; 00:00 UTC), or null. */
  dayResetsAt: number | null;
  /**
   * Until when the source asked us to wait (a 429 with Retry-After, a spent provider quota), epoch
   * ms; null when it did not. While set, the counts above are 0: no request may go out.
   */
  blockedUntil: number | null;
}

export interface FetchLatestRequest {
  /** Generic symbol. */
  symbol: string;
  timeframe: Timeframe;
  /** How many recent bars at most (the forming bar included). Default: source-specific, small. */
  limit?: number;
  signal?: AbortSignal;
}

export interface FetchHistoryRequest {
  /** Generic symbol. */
  symbol: string;
  timeframe: Timeframe;
  /** Inclusive start, epoch ms. */
  from: number;
  /** Exclusive end, epoch ms. */
  to: number;
  signal?: AbortSignal;
  /** Called after each page/chunk with the bars fetched so far. */
  onProgress?: (progress: { requestsDone: number; requestsPlanned: number; bars: number }) => void;
}

/**
 * One interface for every source. Bars come back sorted by `ts` ascending, de-duplicated, in the
 * generic symbol, with `quality` 1 (the validator scores them later). Failures are {@link FetchError}s.
 */
export interface Fetcher {
  readonly source: SourceName;
  readonly capabilities: SourceCapabilities;
  /** The latest bars including the forming one (`final: false`). */
  fetchLatest(request: FetchLatestRequest): Promise<Bar[]>;
  /** History for [from, to), split into as many requests as the source's limits need. */
  fetchHistory(request: FetchHistoryRequest): Promise<Bar[]>;
  /** Remaining rate budget, for health. */
  budget(): RateBudgetSnapshot;
  /** Releases sockets and timers. */
  close(): Promise<void>;
}
