// A Fetcher whose answers a test scripts per call: the source side of the sidecar's tests where the
// behaviour under test is the sidecar's (fallback order, staleness), not a provider's format.
import {
  FetchError,
  TIMEFRAME_MS,
  alignTs,
  type Bar,
  type Clock,
  type FetchErrorKind,
  type FetchHistoryRequest,
  type FetchLatestRequest,
  type Fetcher,
  type RateBudgetSnapshot,
  type SourceName,
  type Timeframe,
} from '@pipeline/core';

export type Script = 'ok' | FetchErrorKind | 'hang';

export interface ScriptedFetcher extends Fetcher {
  mode: Script;
  calls: number;
  historyCalls: FetchHistoryRequest[];
  budgetLeft: number | null;
  /** Bars served so far, by symbol. */
  served: Map<string, Bar[]>;
}

/** A random walk per symbol from a seeded generator, aligned to the clock's current bar. */
export function createScriptedFetcher(
  source: SourceName,
  clock: Clock,
  opts: { timeframes?: Timeframe[]; seed?: number } = {},
): ScriptedFetcher {
  let seed = opts.seed ?? 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const priceOf = new Map<string, number>();
  const bar = (symbol: string, timeframe: Timeframe, ts: number, final: boolean): Bar => {
    const prev = priceOf.get(symbol) ?? 100;
    const close = Math.max(1, prev * (1 + (rand() - 0.5) * 0.002));
    priceOf.set(symbol, close);
    return {
      symbol,
      timeframe,
      ts,
      open: prev,
      high: Math.max(prev, close) * 1.0002,
      low: Math.min(prev, close) * 0.9998,
      close,
      volume: 10,
      source,
      final,
      quality: 1,
    };
  };
  const f: ScriptedFetcher = {
    source,
    mode: 'ok',
    calls: 0,
    historyCalls: [],
    budgetLeft: null,
    served: new Map(),
    capabilities: {
      source,
      timeframes: opts.timeframes ?? ['1m', '5m', '1h', '1d'],
      historyDepthMs: {},
      maxRangeMsPerRequest: {},
      needsApiKey: false,
      rateLimits: { perMinute: null, perDay: null },
      streaming: false,
    },
    async fetchLatest(req: FetchLatestRequest) {
      f.calls++;
      if (f.budgetLeft !== null) f.budgetLeft--;
      if (f.mode === 'hang') return new Promise<Bar[]>(() => undefined);
      if (f.mode !== 'ok')
        throw new FetchError({ kind: f.mode, source, message: `scripted ${f.mode}`, symbol: req.symbol });
      const ts = alignTs(clock.now(), req.timeframe);
      const out = [
        bar(req.symbol, req.timeframe, ts - TIMEFRAME_MS[req.timeframe], true),
        bar(req.symbol, req.timeframe, ts, false),
      ];
      f.served.set(req.symbol, [...(f.served.get(req.symbol) ?? []), ...out]);
      return out;
    },
    async fetchHistory(req: FetchHistoryRequest) {
      f.historyCalls.push(req);
      if (f.mode !== 'ok')
        throw new FetchError({
          kind: f.mode === 'hang' ? 'transient' : f.mode,
          source,
          message: `scripted ${f.mode}`,
        });
      const step = TIMEFRAME_MS[req.timeframe];
      const out: Bar[] = [];
      for (
        let ts = alignTs(req.from, req.timeframe);
        ts < req.to && ts < alignTs(clock.now(), req.timeframe);
        ts += step
      ) {
        out.push(bar(req.symbol, req.timeframe, ts, true));
      }
      return out;
    },
    budget(): RateBudgetSnapshot {
      return { perMinuteLeft: f.budgetLeft, perDayLeft: null, dayResetsAt: null, blockedUntil: null };
    },
    async close() {
      return undefined;
    },
  };
  return f;
}

/** A push source the test feeds by hand (the sidecar's switching logic is under test, not Polygon). */
export function createScriptedStream(source: SourceName = 'polygon') {
  let listener: ((bar: Bar) => void) | undefined;
  return {
    source,
    subscribed: [] as string[],
    subscribe(symbols: readonly string[], onBar: (bar: Bar) => void) {
      this.subscribed = [...symbols];
      listener = onBar;
      return () => (listener = undefined);
    },
    push(bar: Bar) {
      listener?.(bar);
    },
    async close() {
      listener = undefined;
    },
  };
}
