import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import {
  FetchError,
  OptionsError,
  isFetchError,
  TIMEFRAMES,
  TIMEFRAME_MS,
  assertNumberOption,
  isTimeframe,
  resolveOptions,
  systemClock,
  type Bar,
  type FetchHistoryRequest,
  type Scheduler,
  type TimerHandle,
  type FetchLatestRequest,
  type Fetcher,
  type RateBudgetSnapshot,
  type SourceCapabilities,
  type Timeframe,
} from '@pipeline/core';
import { finishBars, lastBars } from '../base/bars';
import { checkRequest, countFailure, throwIfAborted } from '../base/fetcher-kit';
import { createFetcherStats, type FetcherStats } from '../base/stats';
import { parseReplayCsv } from './csv';

/** What the replay asks a caller-supplied bar source for. */
export interface ReplayQuery {
  symbol: string;
  timeframe: Timeframe;
  /** Exclusive end (data time, epoch ms). */
  to: number;
  /** Inclusive start, when asking for a range. */
  from?: number;
  /** When asking for the latest bars: at most this many, the newest before `to`. */
  limit?: number;
}

/**
 * A caller-supplied bar source (e.g. a SQLite store's range query), so replay needs no dependency on
 * it. Return bars with `ts` in [from, to) or the `limit` newest before `to`, in any order.
 */
export type ReplayBarSource = (query: ReplayQuery) => Promise<readonly Bar[]> | AsyncIterable<Bar>;

export interface ReplayFetcherOptions {
  /** CSV file to replay (`ts,open,high,low,close,volume[,symbol,timeframe]`, see README). @default undefined */
  csvPath: string | undefined;
  /** Bar source function; exactly one of `csvPath` and `source` is required. @default undefined */
  source: ReplayBarSource | undefined;
  /** Symbol of CSV rows without a symbol column. @default undefined */
  symbol: string | undefined;
  /** Timeframe of CSV rows without a timeframe column. @default undefined */
  timeframe: Timeframe | undefined;
  /** Data milliseconds replayed per clock millisecond (60: one minute of bars per second). @default 1 */
  speed: number;
  /** Data time (epoch ms) the replay starts from; required with `source`. @default the first CSV bar's open */
  startAt: number | undefined;
  /**
   * Drives the replay: data time = startAt + (now - creation time) x speed. A Scheduler, because
   * `onBar` sets timers (unref'd with systemClock). @default systemClock
   */
  clock: Scheduler;
  /** Bars `fetchLatest` returns without a `limit`. @default 100 */
  latestLimit: number;
}

export const REPLAY_FETCHER_DEFAULTS: Readonly<ReplayFetcherOptions> = Object.freeze({
  csvPath: undefined,
  source: undefined,
  symbol: undefined,
  timeframe: undefined,
  speed: 1,
  startAt: undefined,
  clock: systemClock,
  latestLimit: 100,
});

/** What `onBar` listens to. */
export interface ReplaySubscription {
  symbol: string;
  timeframe: Timeframe;
}

/** Payload of `onBar`: a bar that just completed in data time, or a failure to read the next bars. */
export type ReplayBarEvent = { bar: Bar; error?: undefined } | { bar?: undefined; error: FetchError };

export interface ReplayFetcher extends Fetcher {
  readonly source: 'replay';
  /**
   * Pushes each bar of `subscription` when it completes in data time (timers on the injected
   * scheduler). Returns the unsubscribe function; `close()` ends every subscription.
   */
  onBar(subscription: ReplaySubscription, listener: (event: ReplayBarEvent) => void): () => void;
  /** Where the replay stands: the data time now, and bars are visible once `ts + timeframe <= dataNow`. */
  position(): Promise<{ dataNow: number; startAt: number; speed: number }>;
  stats(): FetcherStats;
}

class ReplayFetcherImpl implements ReplayFetcher {
  readonly source = 'replay' as const;
  readonly capabilities: SourceCapabilities = Object.freeze({
    source: 'replay',
    timeframes: TIMEFRAMES,
    historyDepthMs: {},
    maxRangeMsPerRequest: {},
    needsApiKey: false,
    rateLimits: { perMinute: null, perDay: null },
    streaming: false,
  });
  private readonly counters = createFetcherStats();
  private readonly startedAt: number;
  private csv: Promise<Map<string, Bar[]>> | undefined;
  private readonly subscriptions = new Set<{ cancel(): void }>();

  constructor(private readonly opts: Readonly<ReplayFetcherOptions>) {
    this.startedAt = opts.clock.now();
  }

  async position(): Promise<{ dataNow: number; startAt: number; speed: number }> {
    const startAt = this.opts.startAt ?? (await this.firstCsvTs());
    return {
      dataNow: startAt + (this.opts.clock.now() - this.startedAt) * this.opts.speed,
      startAt,
      speed: this.opts.speed,
    };
  }

  async fetchLatest(req: FetchLatestRequest): Promise<Bar[]> {
    checkRequest('replay', req, false);
    try {
      throwIfAborted('replay', req.signal, req.symbol);
      const limit = req.limit ?? this.opts.latestLimit;
      const to = await this.visibleEnd(req.timeframe);
      const bars = await this.query({ symbol: req.symbol, timeframe: req.timeframe, to, limit });
      const out = lastBars(
        finishBars(
          bars.filter((b) => b.ts < to),
          { now: () => Infinity },
        ),
        limit,
      );
      this.counters.bars += out.length;
      return out;
    } catch (err) {
      return countFailure('replay', this.counters, err, req.symbol);
    }
  }

  async fetchHistory(req: FetchHistoryRequest): Promise<Bar[]> {
    checkRequest('replay', req, true);
    try {
      throwIfAborted('replay', req.signal, req.symbol);
      // The replay cannot see its own future: history ends where the replay stands.
      const to = Math.min(req.to, await this.visibleEnd(req.timeframe));
      const bars =
        to > req.from
          ? await this.query({ symbol: req.symbol, timeframe: req.timeframe, from: req.from, to })
          : [];
      const out = finishBars(
        bars.filter((b) => b.ts >= req.from && b.ts < to),
        { now: () => Infinity },
      );
      req.onProgress?.({ requestsDone: 1, requestsPlanned: 1, bars: out.length });
      this.counters.bars += out.length;
      return out;
    } catch (err) {
      return countFailure('replay', this.counters, err, req.symbol);
    }
  }

  budget(): RateBudgetSnapshot {
    return { perMinuteLeft: null, perDayLeft: null, dayResetsAt: null, blockedUntil: null };
  }

  stats(): FetcherStats {
    return { ...this.counters };
  }

  onBar(subscription: ReplaySubscription, listener: (event: ReplayBarEvent) => void): () => void {
    checkRequest('replay', { symbol: subscription.symbol, timeframe: subscription.timeframe }, false);
    const tf = TIMEFRAME_MS[subscription.timeframe];
    let timer: TimerHandle | undefined;
    let active = true;
    let lastTs = -Infinity;
    const sub = {
      cancel: () => {
        active = false;
        timer?.cancel();
        this.subscriptions.delete(sub);
      },
    };
    this.subscriptions.add(sub);
    const tick = async (): Promise<void> => {
      if (!active) return;
      try {
        const bars = await this.fetchLatest({
          symbol: subscription.symbol,
          timeframe: subscription.timeframe,
          limit: 1_000,
        });
        for (const bar of bars) {
          if (bar.ts > lastTs && active) {
            if (lastTs !== -Infinity) listener({ bar });
            lastTs = bar.ts;
          }
        }
        if (lastTs === -Infinity) lastTs = (await this.visibleEnd(subscription.timeframe)) - 1;
      } catch (err) {
        if (active)
          listener({
            error: isFetchError(err)
              ? err
              : new FetchError({ kind: 'malformed', source: 'replay', message: String(err) }),
          });
      }
      if (!active) return;
      // Wake when the next bar after lastTs completes in data time.
      const { dataNow } = await this.position();
      const nextEnd = Math.max(lastTs + tf, dataNow - (dataNow % tf)) + tf;
      timer = this.opts.clock.setTimeout(
        () => void tick(),
        Math.max(1, (nextEnd - dataNow) / this.opts.speed),
      );
    };
    void tick();
    return sub.cancel;
  }

  async close(): Promise<void> {
    for (const sub of [...this.subscriptions]) sub.cancel();
    this.csv = undefined;
  }

  /** Bars whose open is before this are complete in data time. */
  private async visibleEnd(timeframe: Timeframe): Promise<number> {
    const { dataNow } = await this.position();
    return dataNow - TIMEFRAME_MS[timeframe] + 1;
  }

  private async query(q: ReplayQuery): Promise<Bar[]> {
    this.counters.requests++;
    if (this.opts.source) {
      const got = this.opts.source(q);
      const bars: Bar[] = [];
      if (Symbol.asyncIterator in got) for await (const bar of got) bars.push(bar);
      else bars.push(...(await got));
      return bars
        .filter((b) => b.symbol === q.symbol && b.timeframe === q.timeframe)
        .map((b) => ({ ...b, source: 'replay' as const }));
    }
    const all = (await this.loadCsv()).get(`${q.symbol}|${q.timeframe}`);
    if (!all)
      throw new FetchError({
        kind: 'symbol_not_found',
        source: 'replay',
        symbol: q.symbol,
        message: `the replay file has no ${q.symbol} ${q.timeframe} bars`,
      });
    const inRange = all.filter((b) => b.ts < q.to && (q.from === undefined || b.ts >= q.from));
    return q.limit === undefined ? inRange : inRange.slice(Math.max(0, inRange.length - q.limit));
  }

  private async firstCsvTs(): Promise<number> {
    let first = Infinity;
    for (const bars of (await this.loadCsv()).values()) first = Math.min(first, bars[0]?.ts ?? Infinity);
    if (!Number.isFinite(first))
      throw new FetchError({
        kind: 'malformed',
        source: 'replay',
        message: 'the replay file holds no readable bar',
      });
    return first;
  }

  private loadCsv(): Promise<Map<string, Bar[]>> {
    this.csv ??= (async () => {
      // Options validation requires exactly one of csvPath and source, and only a csvPath fetcher loads CSV.
      const { csvPath } = this.opts;
      if (csvPath === undefined) throw new OptionsError('ReplayFetcher: no csvPath to load');
      let text: string;
      try {
        text = await readFile(csvPath, 'utf8');
      } catch (err) {
        throw new FetchError({
          kind: 'transient',
          source: 'replay',
          message: `cannot read ${this.opts.csvPath}: ${(err as Error).message}`,
          cause: err,
        });
      }
      const bars = parseReplayCsv(
        text,
        { symbol: this.opts.symbol, timeframe: this.opts.timeframe },
        this.counters,
      );
      const groups = new Map<string, Bar[]>();
      for (const bar of bars) {
        const key = `${bar.symbol}|${bar.timeframe}`;
        const g = groups.get(key);
        if (g) g.push(bar);
        else groups.set(key, [bar]);
      }
      for (const [key, g] of groups) groups.set(key, finishBars(g, { now: () => Infinity }));
      return groups;
    })();
    // A failed read is retried on the next call rather than cached forever.
    this.csv.catch(() => (this.csv = undefined));
    return this.csv;
  }
}

/** Creates the offline `replay` source: bars from a CSV file or a bar source function, at a chosen speed. */
export function createReplayFetcher(options: Partial<ReplayFetcherOptions>): ReplayFetcher {
  const C = 'createReplayFetcher';
  const opts = resolveOptions(C, REPLAY_FETCHER_DEFAULTS, options);
  if ((opts.csvPath === undefined) === (opts.source === undefined)) {
    throw new OptionsError(`${C}: give exactly one of "csvPath" and "source"`);
  }
  if (opts.csvPath !== undefined && (typeof opts.csvPath !== 'string' || !existsSync(opts.csvPath))) {
    throw new OptionsError(
      `${C}: option "csvPath" must name an existing file, got ${JSON.stringify(opts.csvPath)}`,
    );
  }
  if (opts.source !== undefined && typeof opts.source !== 'function') {
    throw new OptionsError(`${C}: option "source" must be a function, got ${typeof opts.source}`);
  }
  if (opts.source !== undefined && opts.startAt === undefined) {
    throw new OptionsError(`${C}: option "startAt" is required with "source"`);
  }
  if (opts.timeframe !== undefined && !isTimeframe(opts.timeframe)) {
    throw new OptionsError(
      `${C}: option "timeframe" must be one of ${TIMEFRAMES.join(', ')}, got ${JSON.stringify(opts.timeframe)}`,
    );
  }
  if (opts.startAt !== undefined) assertNumberOption(C, 'startAt', opts.startAt, -8.64e15, 8.64e15);
  assertNumberOption(C, 'speed', opts.speed, 1e-6, 1e9);
  assertNumberOption(C, 'latestLimit', opts.latestLimit, 1, 1_000_000);
  return new ReplayFetcherImpl(opts);
}
