import { performance } from 'node:perf_hooks';
import {
  TIMEFRAME_MS,
  alignTs,
  isFetchError,
  systemClock,
  type RateBudgetSnapshot,
  type Bar,
  type Scheduler,
  type SourceName,
  type Timeframe,
} from '@pipeline/core';
import { setMaxListeners } from 'node:events';
import { runBootstrap, type BootstrapProgress, type BootstrapReport } from './pipeline/bootstrap';
import { type SidecarConfig } from './wiring/config';
import { LifecycleError, UnknownSymbolError, isSidecarError, type SourceAttempt } from './errors';
import { fetchLatestWithFallback, forEachLimited } from './pipeline/fallback';
import { silentLogger, type Logger } from './wiring/logger';
import { createCollectionLoop, type CollectionLoop } from './pipeline/loop';
import {
  type BarCachePort,
  type BarStorePort,
  type BreakerPort,
  type BreakerState,
  type FeatureEnginePort,
  type FeatureValues,
  type MetricsPort,
  type SourceSlot,
  type SymbolPort,
  type ValidatorPort,
} from './ports';
import { ageSignal, createDefaultStrategy, type Signal, type StoredSignal, type Strategy } from './strategy/scanner';

/** A push source (Polygon's WebSocket): while it delivers, polling of its symbols pauses. */
export interface LiveStreamPort {
  readonly source: SourceName;
  /** Starts delivering bars; returns the unsubscribe function. */
  subscribe(symbols: readonly string[], onBar: (bar: Bar) => void): () => void;
  close(): Promise<void>;
}

/** Everything the sidecar is wired from; src/wiring.ts builds the real set from a config. */
export interface SidecarDeps {
  sources: readonly SourceSlot[];
  breaker: BreakerPort;
  cache: BarCachePort;
  store: BarStorePort;
  features: FeatureEnginePort;
  validator: ValidatorPort;
  symbols: SymbolPort;
  metrics: MetricsPort;
  /** @default systemClock */
  scheduler?: Scheduler;
  /** @default silentLogger */
  logger?: Logger;
  /** @default createDefaultStrategy() */
  strategy?: Strategy;
  /** Push source used beside polling. @default none */
  stream?: LiveStreamPort;
  /** Reported in /health. @default '0.0.0' */
  version?: string;
  /** Extra closers run at shutdown after the store is closed (e.g. a Redis client). @default [] */
  closers?: readonly (() => Promise<void>)[];
}

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

/** Summary of one collection cycle. */
export interface CycleReport {
  cycle: number;
  startedAt: number;
  durationMs: number;
  ok: number;
  failed: number;
  /** Symbols served by the stream instead of polling. */
  streamed: number;
  barsWritten: number;
  barsRejected: number;
}

/** Timing hooks for benchmarks and tests; each `on*` returns its unsubscribe function. */
export interface SidecarEvents {
  onCycle(fn: (report: CycleReport) => void): () => void;
  onSignal(fn: (signal: StoredSignal) => void): () => void;
  /** Called when a source's answer for a symbol arrived, before validation (`at` from the clock). */
  onFetched(fn: (info: { symbol: string; source: SourceName; at: number; bars: number }) => void): () => void;
  onBootstrapProgress(fn: (progress: BootstrapProgress) => void): () => void;
}

export const HEALTH_STATUSES = { ok: 'ok', degraded: 'degraded', down: 'down' } as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[keyof typeof HEALTH_STATUSES];

export interface HealthReport {
  status: HealthStatus;
  version: string;
  uptimeSec: number;
  phase: 'starting' | 'bootstrap' | 'live' | 'stopping' | 'stopped';
  bootstrap: BootstrapProgress | null;
  loop: { cycles: number; overruns: number; lastCycleMs: number | null; intervalMs: number };
  sources: {
    name: SourceName;
    breaker: string;
    /** Set while the source is paused after a 429 (Retry-After), epoch ms. */
    coolingDownUntil: number | null;
    successRate: number | null;
    latencyMs: number | null;
    budget: { perMinuteLeft: number | null; perDayLeft: number | null };
  }[];
  symbols: {
    symbol: string;
    brokerSymbol: string;
    lastBarTs: number | null;
    ageMs: number | null;
    stale: boolean;
    source: SourceName | null;
  }[];
  storage: {
    cache: string;
    /** Redis command connections (REDIS_POOL_SIZE) and how many are ready; absent for the in-process cache. */
    cacheConnections?: { total: number; ready: number };
    sqlite: string;
    pendingWrites: number;
  };
}

/** The sidecar service: the loop, bootstrap, signal scanner and the state the HTTP API reads. */
export interface Sidecar extends SidecarEvents {
  readonly config: SidecarConfig;
  /**
   * Bootstrap (unless `skipBootstrap`), warm the indicators from the store, go live and start the
   * loop (unless `loop: false`, for callers that drive {@link Sidecar.runCycle} themselves).
   */
  start(options?: { skipBootstrap?: boolean; loop?: boolean }): Promise<void>;
  /** One collection cycle now (tests and benchmarks drive it with a manual clock). */
  runCycle(): Promise<CycleReport>;
  /** Bootstrap and gap repair over [now - BOOTSTRAP_DAYS, now). */
  bootstrap(): Promise<BootstrapReport>;
  /** Stop the loop, flush the store, close cache, sources and closers. Idempotent. */
  stop(): Promise<void>;
  health(): HealthReport;
  /** Resolves any spelling to the generic symbol; throws UnknownSymbolError. */
  resolveSymbol(input: string): string;
  signal(symbol: string): Signal | null;
  signals(): Signal[];
  bars(
    symbol: string,
    timeframe: Timeframe,
    limit: number,
  ): Promise<{ bars: Bar[]; stale: boolean; ageMs: number | null }>;
  features(symbol: string): { values: FeatureValues; dataTs: number | null; stale: boolean } | null;
  symbolState(symbol: string): SymbolState | undefined;
  readonly metrics: MetricsPort;
  readonly ready: boolean;
}

/** How many latest bars a poll asks for: the forming bar and the one before it (closes the previous). */
const LATEST_LIMIT = 3;
/**
 * CPU time (ms of wall time) the cycle may spend processing answers back to back before it yields
 * to the event loop, so HTTP readers wait at most about this long behind a cycle.
 */
const YIELD_AFTER_MS = 1;
/** Stored bars fed to the indicators before going live (enough for every default indicator to be stable). */
const WARM_BARS = 500;
/** Bars per hot-cache write when filling it from SQLite. */
const CACHE_FILL_BATCH = 20_000;

type Listener<T> = (value: T) => void;
function emitter<T>() {
  const fns = new Set<Listener<T>>();
  return {
    on(fn: Listener<T>) {
      fns.add(fn);
      return () => void fns.delete(fn);
    },
    emit(value: T) {
      for (const fn of fns) fn(value);
    },
    get size() {
      return fns.size;
    },
  };
}

export function createSidecar(config: SidecarConfig, deps: SidecarDeps): Sidecar {
  const clock = deps.scheduler ?? systemClock;
  const log = deps.logger ?? silentLogger;
  const strategy = deps.strategy ?? createDefaultStrategy();
  const tf = config.timeframe;
  const tfMs = TIMEFRAME_MS[tf];
  const startedAt = clock.now();
  const states = new Map<string, SymbolState>();
  const signals = new Map<string, StoredSignal>();
  const cycleEvents = emitter<CycleReport>();
  const signalEvents = emitter<StoredSignal>();
  const fetchedEvents = emitter<{ symbol: string; source: SourceName; at: number; bars: number }>();
  const progressEvents = emitter<BootstrapProgress>();
  let phase: HealthReport['phase'] = 'starting';
  let bootstrapProgress: BootstrapProgress | null = null;
  let lastCycleMs: number | null = null;
  let cycleNo = 0;
  let stopping: Promise<void> | undefined;
  let unsubscribeStream: (() => void) | undefined;
  /** Last time the stream delivered a bar per symbol (epoch ms). */
  const streamSeen = new Map<string, number>();
  /** Gaps seen live (a new bar far after the previous one), repaired in the background. */
  const pendingRepairs: { symbol: string; from: number; to: number }[] = [];
  let repairing: Promise<void> | undefined;
  let cacheFailures = 0;
  /** A cache write failed: once the cache is ready again it is refilled from SQLite. */
  let cacheNeedsRefill = false;
  let refilling: Promise<void> | undefined;
  let cycleAbort = new AbortController();
  let started = false;
  /** Signals (with their features) made since the last publish to the hot cache, for other readers of Redis. */
  let toPublish: StoredSignal[] = [];
  // Only a shared cache (Redis) has other readers; the API reads the in-memory map, so copying
  // every signal into the in-process cache would only cost encoding time.
  const publishSignals = deps.cache.kind === 'redis';

  const scrape = deps.metrics.onScrape(() => {
    const lastBarTs: Record<string, number | null> = {};
    for (const s of states.values()) lastBarTs[s.symbol] = s.lastBar?.ts ?? null;
    const breakers: Record<string, BreakerState> = {};
    const rateBudgets: Record<string, RateBudgetSnapshot> = {};
    for (const slot of deps.sources) {
      breakers[slot.name] = deps.breaker.snapshot(slot.name).state;
      rateBudgets[slot.name] = slot.fetcher.budget();
    }
    return {
      lastBarTs,
      breakers,
      rateBudgets,
      pendingWrites: deps.store.isClosed ? 0 : deps.store.stats().pending,
    };
  });

  for (const symbol of config.symbols) {
    states.set(symbol, {
      symbol,
      brokerSymbol: deps.symbols.toBroker(symbol),
      lastBar: null,
      lastSuccessAt: null,
      lastSource: null,
      consecutiveFailures: 0,
      lastAttempts: [],
    });
  }

  const loop: CollectionLoop = createCollectionLoop({
    intervalMs: config.collectionIntervalMs,
    scheduler: clock,
    tick: async () => {
      await runCycle();
    },
    onOverrun: ({ cycle, durationMs, skipped }) => {
      deps.metrics.cycleOverruns.inc(skipped);
      log.warn('collection cycle overran its interval', { cycle, durationMs, skipped });
    },
    onError: (err) => log.error('collection cycle failed', { err }),
  });

  /**
   * Validates and applies fresh bars of one symbol: features and signal at once (so the signal is
   * readable as soon as possible), cache and store writes are returned to be batched per cycle.
   */
  function apply(
    state: SymbolState,
    raw: readonly Bar[],
    source: SourceName,
    now: number,
  ): { accepted: Bar[]; rejected: number } {
    const prev = state.lastBar;
    // Only bars at or after the newest known one go on: same ts replaces the forming bar (or
    // finalises it); older ones were seen in an earlier poll, and passing them again would count
    // them twice in the indicators and as duplicates in the validator.
    const fresh: Bar[] = [];
    let rejected = 0;
    let known = 0;
    for (const b of raw) {
      if (prev && b.ts < prev.ts) {
        known++;
        continue;
      }
      const v = deps.validator.validate(b);
      if (v.status === 'rejected') rejected++;
      else fresh.push(v.bar);
    }
    const bars = fresh;
    if (prev && fresh.length > 0 && fresh[0].ts > prev.ts + tfMs && fresh[0].ts - prev.ts <= 7 * 86_400_000) {
      pendingRepairs.push({ symbol: state.symbol, from: prev.ts + tfMs, to: fresh[0].ts });
    }
    let values: FeatureValues | null = null;
    for (const bar of fresh) values = deps.features.update(bar);
    // Fresh only when the answer held a usable bar (new, or one already known: a fallback source
    // may lag the forming bar by one); an answer of only rejected bars must not hide staleness.
    if (fresh.length + known > 0) {
      state.lastSuccessAt = now;
      state.lastSource = source;
      state.consecutiveFailures = 0;
    }
    const last = fresh.at(-1);
    if (last) state.lastBar = last;
    if (values && last) {
      const result = strategy.evaluate({ symbol: state.symbol, bar: last, features: values });
      const stored: StoredSignal = {
        ...result,
        symbol: state.symbol,
        brokerSymbol: state.brokerSymbol,
        strategy: strategy.name,
        rawConfidence: result.confidence,
        price: last.close,
        dataTs: last.ts,
        dataAt: now,
        generatedAt: clock.now(),
        quality: last.quality,
        indicators: values,
      };
      signals.set(state.symbol, stored);
      if (publishSignals) toPublish.push(stored);
      deps.metrics.signalLatency.observe((stored.generatedAt - now) / 1000);
      signalEvents.emit(stored);
    } else if (last && signals.has(state.symbol)) {
      // Same bars again (nothing new): the data is still fresh, so the signal's age restarts.
      signals.set(state.symbol, { ...signals.get(state.symbol)!, dataAt: now });
    }
    return { accepted: bars, rejected };
  }

  function recordAttempts(attempts: readonly SourceAttempt[]): void {
    for (const a of attempts) {
      if (a.outcome !== 'ok' && a.outcome !== 'failed') continue;
      const source = a.source as SourceName;
      deps.metrics.fetchDuration.observe({ source }, (a.latencyMs ?? 0) / 1000);
      if (a.outcome === 'failed')
        deps.metrics.fetchErrors.inc({ source, kind: isFetchError(a.error) ? a.error.kind : 'other' });
    }
  }

  async function runCycle(): Promise<CycleReport> {
    const t0 = clock.now();
    const cycle = ++cycleNo;
    let ok = 0;
    let failed = 0;
    let streamed = 0;
    let rejectedTotal = 0;
    const toWrite: Bar[] = [];
    const streamFreshMs = Math.max(2 * config.collectionIntervalMs, 2 * tfMs);
    let sliceStart = performance.now();
    // One signal per cycle, shared by every fetch (hence no listener limit): stop() aborts it so
    // in-flight requests end at once instead of running into their timeouts.
    cycleAbort = new AbortController();
    setMaxListeners(0, cycleAbort.signal);
    let gate: Promise<void> | undefined;
    await forEachLimited(config.symbols, config.fetchConcurrency, async (symbol) => {
      const state = states.get(symbol)!;
      const seen = streamSeen.get(symbol);
      if (seen !== undefined && t0 - seen <= streamFreshMs) {
        streamed++;
        return;
      }
      try {
        const res = await fetchLatestWithFallback(
          deps.sources,
          deps.breaker,
          symbol,
          tf,
          LATEST_LIMIT,
          () => clock.now(),
          cycleAbort.signal,
        );
        while (gate) await gate;
        if (sliceStart === 0) sliceStart = performance.now();
        const at = clock.now();
        recordAttempts(res.attempts);
        if (fetchedEvents.size)
          fetchedEvents.emit({ symbol, source: res.source, at, bars: res.value.length });
        state.lastAttempts = res.attempts;
        const { accepted, rejected } = apply(state, res.value, res.source, at);
        rejectedTotal += rejected;
        for (const b of accepted) toWrite.push(b);
        if (accepted.length > 0) deps.metrics.barsIngested.inc({ source: res.source }, accepted.length);
        ok++;
        // When many answers arrive together their processing runs back to back as microtasks, and
        // HTTP readers wait for the whole batch. After about a millisecond of such work all workers
        // pause on one shared setImmediate gate, so pending requests (I/O) are served in between.
        if (!gate && performance.now() - sliceStart >= YIELD_AFTER_MS) {
          sliceStart = 0;
          gate = new Promise<void>((r) =>
            setImmediate(() => {
              gate = undefined;
              r();
            }),
          );
        }
      } catch (err) {
        failed++;
        if (stopping) return; // fetches cancelled by stop(): not a source failure
        state.consecutiveFailures++;
        if (isSidecarError(err)) {
          const attempts = (err as { attempts?: readonly SourceAttempt[] }).attempts ?? [];
          state.lastAttempts = attempts;
          recordAttempts(attempts);
        }
        // Log the first failure of a streak and then every 60th, not every second.
        if (state.consecutiveFailures === 1 || state.consecutiveFailures % 60 === 0) {
          log.warn('every source failed; serving the last bars as stale', {
            symbol,
            consecutiveFailures: state.consecutiveFailures,
            reason: err instanceof Error ? err.message : String(err),
          });
        }
      }
    });
    if (toWrite.length > 0) {
      deps.store.write(toWrite);
      await writeCache(toWrite);
    }
    await publish();
    const durationMs = clock.now() - t0;
    lastCycleMs = durationMs;
    deps.metrics.cycleDuration.observe(durationMs / 1000);
    if (pendingRepairs.length > 0 && !repairing && phase === 'live')
      repairing = repairGaps().finally(() => (repairing = undefined));
    const report: CycleReport = {
      cycle,
      startedAt: t0,
      durationMs,
      ok,
      failed,
      streamed,
      barsWritten: toWrite.length,
      barsRejected: rejectedTotal,
    };
    cycleEvents.emit(report);
    return report;
  }

  async function repairGaps(): Promise<void> {
    const gaps = pendingRepairs.splice(0);
    for (const gap of gaps) {
      try {
        const report = await runBootstrap({
          symbols: [gap.symbol],
          timeframe: tf,
          from: gap.from,
          to: gap.to,
          sources: deps.sources,
          breaker: deps.breaker,
          store: deps.store,
          validator: deps.validator,
          now: () => clock.now(),
          calendarFor: (symbol) => deps.symbols.calendar(symbol),
        });
        // A jump over closed market hours plans no chunk: nothing was missing.
        if (report.chunksPlanned > 0)
          log.info('gap repaired', { ...gap, bars: report.bars, chunks: report.chunksPlanned });
        else log.debug('no gap in the market calendar', gap);
      } catch (err) {
        log.warn('gap repair failed', { ...gap, err });
      }
    }
  }

  function onStreamBar(bar: Bar) {
    const state = states.get(bar.symbol);
    if (!state || bar.timeframe !== tf || stopping) return;
    const now = clock.now();
    streamSeen.set(bar.symbol, now);
    const { accepted } = apply(state, [bar], deps.stream!.source, now);
    if (accepted.length > 0) {
      deps.store.write(accepted);
      void writeCache(accepted).then(publish);
    }
  }

  async function bootstrap(): Promise<BootstrapReport> {
    const now = clock.now();
    // The forming bar is the live loop's: history stops at the last closed bar.
    const to = alignTs(now, tf);
    phase = 'bootstrap';
    let chunkErrors = 0;
    const report = await runBootstrap({
      symbols: config.symbols,
      timeframe: tf,
      from: alignTs(now - config.bootstrapDays * 86_400_000, tf),
      to,
      sources: deps.sources,
      breaker: deps.breaker,
      store: deps.store,
      validator: deps.validator,
      now: () => clock.now(),
      calendarFor: (symbol) => deps.symbols.calendar(symbol),
      onProgress: (p) => {
        bootstrapProgress = p;
        progressEvents.emit(p);
      },
      isCancelled: () => stopping !== undefined,
      onChunkError: ({ symbol, from, to, error }) => {
        if (++chunkErrors <= 5 || chunkErrors % 100 === 0) {
          log.warn('bootstrap chunk failed; it is retried on the next start', {
            symbol,
            from: new Date(from).toISOString(),
            to: new Date(to).toISOString(),
            err: error,
            chunkErrors,
          });
        }
      },
    });
    if (phase === 'bootstrap') phase = 'starting';
    return report;
  }

  /** Feeds the newest stored history to the indicators and the cache so the first live bar continues it. */
  async function warm(): Promise<void> {
    for (const symbol of config.symbols) {
      const history = deps.store.latest(symbol, tf, WARM_BARS);
      if (history.length === 0) continue;
      for (const bar of history) deps.features.update(bar);
      const state = states.get(symbol)!;
      state.lastBar = history.at(-1)!;
    }
    if (!(await fillCacheFromStore())) cacheNeedsRefill = true;
  }

  /**
   * Writes the newest MAX_BARS_CACHE stored bars of every symbol to the hot cache, oldest first, in
   * batches: at start, and after the cache comes back empty from an outage (other readers of Redis
   * then see the full window again, the outage's bars included, not only what arrived since).
   */
  async function fillCacheFromStore(): Promise<boolean> {
    try {
      await deps.store.flush();
      let batch: Bar[] = [];
      for (const symbol of config.symbols) {
        for (const b of deps.store.latest(symbol, tf, config.maxBarsCache)) batch.push(b);
        if (batch.length >= CACHE_FILL_BATCH) {
          await deps.cache.writeBars(batch);
          batch = [];
        }
      }
      if (batch.length > 0) await deps.cache.writeBars(batch);
      return true;
    } catch (err) {
      log.warn('filling the hot cache from SQLite failed; retried after the next successful write', { err });
      return false;
    }
  }

  async function publish(): Promise<void> {
    if (toPublish.length === 0) return;
    const batch = toPublish;
    toPublish = [];
    try {
      await Promise.all(
        batch.flatMap((s) => [
          deps.cache.setFeatures(s.symbol, { ...s.indicators, dataTs: s.dataTs }),
          deps.cache.setSignal(s.symbol, { ...s }),
        ]),
      );
    } catch (err) {
      cacheFailures++;
      if (cacheFailures === 1 || cacheFailures % 60 === 0)
        log.error('hot cache signal publish failed', { err, failures: cacheFailures });
    }
  }

  /** Cache trouble never stops collection: the store still gets the bars and /bars falls back to it. */
  async function writeCache(bars: readonly Bar[]): Promise<void> {
    if (cacheNeedsRefill && deps.cache.health().status === 'ready') {
      refilling ??= fillCacheFromStore().then((ok) => {
        if (ok) {
          cacheNeedsRefill = false;
          log.info('hot cache refilled from SQLite after an outage', { symbols: config.symbols.length });
        }
        refilling = undefined;
      });
      await refilling;
    }
    try {
      await deps.cache.writeBars(bars);
    } catch (err) {
      cacheNeedsRefill = true;
      cacheFailures++;
      if (cacheFailures === 1 || cacheFailures % 60 === 0)
        log.error('hot cache write failed', { err, bars: bars.length, failures: cacheFailures });
    }
  }

  function resolveSymbol(input: string): string {
    const upper = input.trim();
    if (states.has(upper)) return upper;
    const generic = deps.symbols.resolve(upper);
    if (generic !== null && states.has(generic)) return generic;
    throw new UnknownSymbolError(
      input,
      deps.symbols.suggest(input).filter((s) => states.has(s)),
    );
  }

  function ageOf(state: SymbolState, now: number): number | null {
    return state.lastSuccessAt === null ? null : now - state.lastSuccessAt;
  }

  return {
    config,
    metrics: deps.metrics,
    onCycle: cycleEvents.on,
    onSignal: signalEvents.on,
    onFetched: fetchedEvents.on,
    onBootstrapProgress: progressEvents.on,
    get ready() {
      return phase === 'live';
    },
    async start(options = {}) {
      if (started) throw new LifecycleError(`start() called twice (phase ${phase})`);
      started = true;
      if (!options.skipBootstrap && config.bootstrapDays > 0) {
        try {
          const r = await bootstrap();
          log.info('bootstrap finished', { ...r });
        } catch (err) {
          log.error('bootstrap failed; going live with what is stored', { err });
        }
      }
      if (stopping) return;
      await warm();
      phase = 'live';
      if (deps.stream) unsubscribeStream = deps.stream.subscribe(config.symbols, onStreamBar);
      if (options.loop === false) return;
      loop.start();
      log.info('collection loop started', {
        symbols: config.symbols.length,
        sources: deps.sources.map((s) => s.name),
        intervalMs: config.collectionIntervalMs,
      });
    },
    runCycle,
    bootstrap,
    stop() {
      stopping ??= (async () => {
        phase = 'stopping';
        unsubscribeStream?.();
        scrape.dispose();
        const running = loop.stop();
        cycleAbort.abort(new LifecycleError('sidecar stopping'));
        await running;
        await repairing;
        const tasks: [string, () => Promise<unknown>][] = [
          ['store', () => deps.store.close()],
          ['cache', () => deps.cache.close()],
          ...(deps.stream
            ? [['stream', () => deps.stream!.close()] as [string, () => Promise<unknown>]]
            : []),
          ...deps.sources.map(
            (s) => [`source ${s.name}`, () => s.fetcher.close()] as [string, () => Promise<unknown>],
          ),
          ['breaker', async () => deps.breaker.close()],
          ...(deps.closers ?? []).map((c, i) => [`closer ${i}`, c] as [string, () => Promise<unknown>]),
        ];
        for (const [name, task] of tasks) {
          try {
            await task();
          } catch (err) {
            log.error(`closing ${name} failed`, { err });
          }
        }
        phase = 'stopped';
      })();
      return stopping;
    },
    health(): HealthReport {
      const now = clock.now();
      const symbols = [...states.values()].map((s) => {
        const ageMs = ageOf(s, now);
        return {
          symbol: s.symbol,
          brokerSymbol: s.brokerSymbol,
          lastBarTs: s.lastBar?.ts ?? null,
          ageMs,
          stale: ageMs === null || ageMs > config.staleAfterMs,
          source: s.lastSource,
        };
      });
      const sources = deps.sources.map((s) => {
        const st = deps.breaker.snapshot(s.name);
        const b = s.fetcher.budget();
        const cooling =
          st.coolingDownUntil !== null && st.coolingDownUntil > now ? st.coolingDownUntil : null;
        return {
          name: s.name,
          breaker: st.state,
          coolingDownUntil: cooling,
          successRate: st.successRate,
          latencyMs: st.latencyMs.p50,
          budget: { perMinuteLeft: b.perMinuteLeft, perDayLeft: b.perDayLeft },
        };
      });
      const staleCount = symbols.filter((s) => s.stale).length;
      const openCount = sources.filter((s) => s.breaker === 'open' || s.coolingDownUntil !== null).length;
      const storeStats = deps.store.stats();
      const storeState = deps.store.isClosed
        ? 'closed'
        : storeStats.failedFlushes > 0 && storeStats.pending > 0
          ? 'failing'
          : 'up';
      const cacheHealth = deps.cache.health();
      const cacheState = cacheHealth.status;
      let status: HealthStatus = 'ok';
      if (phase === 'stopped' || (cycleNo > 0 && staleCount === symbols.length && symbols.length > 0))
        status = 'down';
      else if (
        phase !== 'live' ||
        staleCount > 0 ||
        openCount > 0 ||
        cacheState !== 'ready' ||
        storeState !== 'up'
      )
        status = 'degraded';
      return {
        status,
        version: deps.version ?? '0.0.0',
        uptimeSec: Math.round((now - startedAt) / 1000),
        phase,
        bootstrap: bootstrapProgress,
        loop: {
          cycles: loop.cycles || cycleNo,
          overruns: loop.overruns,
          lastCycleMs,
          intervalMs: config.collectionIntervalMs,
        },
        sources,
        symbols,
        storage: {
          cache: `${deps.cache.kind}:${cacheState}`,
          ...(cacheHealth.connections ? { cacheConnections: cacheHealth.connections } : {}),
          sqlite: storeState,
          pendingWrites: storeStats.pending,
        },
      };
    },
    resolveSymbol,
    signal(symbol) {
      const s = signals.get(symbol);
      return s ? ageSignal(s, clock.now(), config.staleAfterMs) : null;
    },
    signals() {
      const now = clock.now();
      return config.symbols.flatMap((sym) => {
        const s = signals.get(sym);
        return s ? [ageSignal(s, now, config.staleAfterMs)] : [];
      });
    },
    async bars(symbol, timeframe, limit) {
      const state = states.get(symbol)!;
      let bars: Bar[] = [];
      try {
        bars = await deps.cache.latestBars(symbol, timeframe, limit);
      } catch (err) {
        log.warn('hot cache read failed; reading SQLite', { symbol, err });
      }
      if (bars.length < limit) {
        // The cache holds the newest bars only (or nothing after a Redis loss): complete from SQLite,
        // the cache's copy winning where both have a bar.
        const stored = deps.store.latest(symbol, timeframe, limit);
        if (stored.length > bars.length) {
          const byTs = new Map(stored.map((b) => [b.ts, b]));
          for (const b of bars) byTs.set(b.ts, b);
          bars = [...byTs.values()].sort((a, b) => a.ts - b.ts).slice(-limit);
        }
      }
      const ageMs = ageOf(state, clock.now());
      return { bars, stale: ageMs === null || ageMs > config.staleAfterMs, ageMs };
    },
    features(symbol) {
      const values = deps.features.latest(symbol);
      if (!values) return null;
      const state = states.get(symbol)!;
      const ageMs = ageOf(state, clock.now());
      return {
        values,
        dataTs: state.lastBar?.ts ?? null,
        stale: ageMs === null || ageMs > config.staleAfterMs,
      };
    },
    symbolState: (symbol) => states.get(symbol),
  };
}
