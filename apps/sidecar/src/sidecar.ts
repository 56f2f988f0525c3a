// The sidecar's lifecycle shell. start: bootstrap the history, warm the indicators and the cache,
// go live (loop and stream); stop: the ordered closers. The data flow itself lives in the stages:
//   pipeline/collect  one cycle: symbols x fallback sources, the yield gate, stream pause
//   pipeline/ingest   known-bar filter, validation, gap detection, indicators, signal
//   strategy/signals  the signal book (evaluate, store, re-date, age, publish)
//   pipeline/sinks    store and hot-cache writes, throttled failures, refill after an outage
//   pipeline/gap-repair, pipeline/bootstrap, pipeline/warm
//   state/health, state/read-model, state/symbol-state (the one staleness rule)
import {
  systemClock,
  type Bar,
  type RateBudgetSnapshot,
  type Scheduler,
  type SourceName,
} from '@pipeline/core';
import {
  createClusterStage,
  isNotCarriedAnywhere,
  type ClusterDeps,
  type ClusterStage,
} from './cluster/stage';
import { LifecycleError } from './errors';
import { createEmitter, createListeners } from './events';
import {
  runBootstrap,
  runStartBootstrap,
  type BootstrapProgress,
  type BootstrapReport,
} from './pipeline/bootstrap';
import { createCollector, type CycleReport, type FetchedInfo } from './pipeline/collect';
import { createGapRepair } from './pipeline/gap-repair';
import { createFinalizer } from './pipeline/finalizer';
import { createIngest } from './pipeline/ingest';
import { createRequestPlanner, type RequestPlanner } from './pipeline/planner';
import { createIdleGc, createCollectionLoop } from './pipeline/loop';
import { createSinks } from './pipeline/sinks';
import { createWarmer, type Warmer } from './pipeline/warm';
import {
  type BarCachePort,
  type BarStorePort,
  type BreakerPort,
  type BreakerState,
  type FeatureEnginePort,
  type MetricsPort,
  type SourceSlot,
  type SymbolPort,
  type ValidatorPort,
} from './ports';
import {
  createHealth,
  type HealthOptions,
  type HealthReport,
  type HealthSummary,
  type Phase,
  type ProbeResult,
} from './state/health';
import { createReadModel, type ReadModel } from './state/read-model';
import { createSymbolStates, type SymbolState, type SymbolStates } from './state/symbol-state';
import { createDefaultStrategy, type StoredSignal, type Strategy } from './strategy/scanner';
import { createSignalBook, type SignalBook, type SignalHandle } from './strategy/signals';
import { type SidecarConfig } from './wiring/config';
import { silentLogger, type Logger } from './wiring/logger';

export {
  HEALTH_STATUSES,
  type HealthReport,
  type HealthStatus,
  type HealthSummary,
  type ProbeResult,
} from './state/health';
export { type SymbolState } from './state/symbol-state';
export { type CycleReport } from './pipeline/collect';

/** A push source (Polygon's WebSocket): while it delivers, polling of its symbols pauses. */
export interface LiveStreamPort {
  readonly source: SourceName;
  /** Starts delivering bars; returns the unsubscribe function. */
  subscribe(symbols: readonly string[], onBar: (bar: Bar) => void): () => void;
  close(): Promise<void>;
}

/** Everything the sidecar is wired from; src/wiring/wiring.ts builds the real set from a config. */
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
  /** Cluster mode (CLUSTER_NAME): this process is one of N sharing the symbols. @default none */
  cluster?: ClusterDeps;
}

/** Called with one symbol's bars as `bars[from, to)`; the array is lent for the call only. */
export type BarsRangeListener = (symbol: string, bars: readonly Bar[], from: number, to: number) => void;

/** Timing hooks for benchmarks and tests; each `on*` returns its unsubscribe function. */
export interface SidecarEvents {
  onCycle(fn: (report: CycleReport) => void): () => void;
  onSignal(fn: (signal: StoredSignal) => void): () => void;
  /**
   * Called with each new signal as a handle whose object is made only when read (the push stream's
   * feed: its replay ring overwrites most events unread); see SignalBook.onSignalHandle.
   */
  onSignalHandle(fn: (symbol: string, handle: SignalHandle) => void): () => void;
  /**
   * Called with the bars of one symbol accepted by validation (a forming bar again when it changes),
   * and with each final bar the late finaliser wrote for a period that had stayed forming.
   */
  onBars(fn: (e: { symbol: string; bars: readonly Bar[] }) => void): () => void;
  /**
   * {@link onBars} without the event object and the array copy (the push stream's feed, which only
   * publishes each bar): the same bars, as `bars[from, to)` of a list lent for the duration of the
   * call. Do not keep the array (it is the cycle's write list, trimmed and reused); the bars in it
   * may be kept.
   */
  onBarsRange(fn: BarsRangeListener): () => void;
  /** Called when a source's answer for a symbol arrived, before validation (`at` from the clock). */
  onFetched(fn: (info: FetchedInfo) => void): () => void;
  onBootstrapProgress(fn: (progress: BootstrapProgress) => void): () => void;
}

/** The sidecar service: the loop, bootstrap, signal scanner and the state the HTTP API reads. */
export interface Sidecar extends SidecarEvents, ReadModel {
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
  /**
   * {@link health}'s status and each source's breaker alone, by the same rule (Health.summary): no
   * entry per symbol. The push stream's feed reads it after every cycle while a client listens.
   */
  healthSummary(): HealthSummary;
  /** `/health/live`: not stopped, and the running loop not stalled (constant time). */
  liveness(): ProbeResult;
  /** `/health/ready`: live and not down (see state/health.ts). */
  readiness(): ProbeResult;
  /** Cluster mode's stage (GET /cluster), or null for a single process. */
  readonly cluster: ClusterStage | null;
  readonly metrics: MetricsPort;
  readonly ready: boolean;
}

/** What the stages read from the shell's lifecycle. */
interface ShellView {
  phase(): Phase;
  isStopping(): boolean;
}

/** Cluster mode's stage (leases, takeover backfill), or null for a single process. */
function wireCluster(
  config: SidecarConfig,
  deps: SidecarDeps,
  stages: { states: SymbolStates; signals: SignalBook },
  now: () => number,
  log: Logger,
): ClusterStage | null {
  if (!deps.cluster) return null;
  const tf = config.timeframe;
  return createClusterStage({
    ...deps.cluster,
    symbols: config.symbols,
    timeframe: tf,
    bootstrapDays: config.bootstrapDays,
    leaseTtlMs: config.leaseTtlMs,
    store: deps.store,
    cache: deps.cache,
    features: deps.features,
    states: stages.states,
    adoptSignal: (s) => stages.signals.adopt(s),
    // A takeover's backfill goes the gap-repair way: the chunked bootstrap over [from, to).
    backfill: async (symbol, from, to) => {
      let notCarried = 0;
      const r = await runBootstrap({
        ...deps,
        symbols: [symbol],
        timeframe: tf,
        from,
        to,
        now,
        calendarFor: (s) => deps.symbols.calendar(s),
        onChunkError: ({ error }) => void (isNotCarriedAnywhere(error) && notCarried++),
      });
      // A chunk the providers did not serve (budget spent, outage): the takeover is retried. One no
      // source carries (a symbol the mapper does not know) never will be: live as in single mode.
      if (r.failedChunks > notCarried)
        throw new Error(`backfill of ${symbol}: ${r.failedChunks} of ${r.chunksPlanned} chunks failed`);
      if (notCarried > 0)
        log.warn('cluster takeover: no source carries the symbol; collected without history', { symbol });
      return r.bars;
    },
    now,
    log,
  });
}

/** The stages, in the order data flows through them, up to the collection loop. */
function wireStages(config: SidecarConfig, deps: SidecarDeps, shell: ShellView) {
  const clock = deps.scheduler ?? systemClock;
  const log = deps.logger ?? silentLogger;
  const tf = config.timeframe;
  const now = () => clock.now();
  const states = createSymbolStates({
    symbols: config.symbols,
    toBroker: (s) => deps.symbols.toBroker(s),
    staleAfterMs: config.staleAfterMs,
    // Freshness from the data: while a symbol's market is open, bars that stop advancing are stale.
    timeframe: tf,
    calendarFor: (s) => deps.symbols.calendar(s),
  });
  const signals = createSignalBook({
    strategy: deps.strategy ?? createDefaultStrategy(),
    clock,
    metrics: deps.metrics,
    symbols: config.symbols,
    staleAfterMs: config.staleAfterMs,
    publish: deps.cache.kind === 'redis',
  });
  const gapRepair = createGapRepair({ ...deps, timeframe: tf, now, log });
  const barEvents = createEmitter<{ symbol: string; bars: readonly Bar[] }>();
  const barRanges = createListeners<BarsRangeListener>();
  const onBarsRange = barRanges.on;
  const validated = createIngest({ ...deps, timeframe: tf, signals, onGap: (gap) => gapRepair.enqueue(gap) });
  // The bars publish point (the push stream's feed): every accepted bar, polled or streamed. The
  // finaliser reads this symbol's range of the write list in place, and so does an onBarsRange
  // listener (the feed); an onBars listener gets its own copy of it (an event's bars are the
  // listener's to keep; the list is the cycle's and gets trimmed), made only when there is one.
  const ingest: typeof validated = {
    apply(state, raw, source, at, out) {
      const from = out.n;
      const rejected = validated.apply(state, raw, source, at, out);
      if (out.n > from) {
        finalizer.note(out.bars, from, out.n);
        if (barEvents.size > 0) barEvents.emit({ symbol: state.symbol, bars: out.bars.slice(from, out.n) });
        const ranges = barRanges.list;
        for (let i = 0; i < ranges.length; i++) ranges[i]?.(state.symbol, out.bars, from, out.n);
      }
      return rejected;
    },
  };
  const sinks = createSinks({
    ...deps,
    symbols: config.symbols,
    timeframe: tf,
    maxBarsCache: config.maxBarsCache,
    log,
    // Cluster mode: a refill after an outage writes only the symbols this instance owns.
    ...(deps.cluster ? { owns: (s: string) => cluster?.owns(s) ?? true } : {}),
  });
  const cluster = wireCluster(config, deps, { states, signals }, now, log);
  const planner = createRequestPlanner({
    sources: deps.sources,
    breaker: deps.breaker,
    timeframe: tf,
    intervalMs: config.collectionIntervalMs,
    symbols: config.symbols.length,
    now,
    // Cluster mode: plan this instance's share of each budget, at the poll limits the shared one grants.
    ...(cluster ? { share: () => cluster.share() } : {}),
    ...(deps.cluster?.pollLimits ? { limitsFor: deps.cluster.pollLimits } : {}),
  });
  // Finished periods whose final bar never came are fetched again (pipeline/finalizer.ts).
  const finalizer = createFinalizer({
    ...deps,
    timeframe: tf,
    // Cluster mode: only the symbols whose lease the fence still confirms are written.
    write: async (bars) => {
      const allowed = cluster ? await cluster.fence(bars.map((b) => b.symbol)) : null;
      const written = allowed ? bars.filter((b) => allowed.has(b.symbol)) : bars;
      await sinks.writeBars(written);
      // Published like the loop's bars, so the push stream (and the dashboard's candle) gets the final one.
      if (barEvents.size > 0 || barRanges.list.length > 0)
        for (let i = 0; i < written.length; i++) {
          const b = written[i];
          if (b === undefined) continue;
          if (barEvents.size > 0) barEvents.emit({ symbol: b.symbol, bars: [b] });
          const ranges = barRanges.list;
          for (let k = 0; k < ranges.length; k++) ranges[k]?.(b.symbol, written, i, i + 1);
        }
    },
    admit: (source, symbol, at) => planner.admit(source, symbol, at),
    now,
    log,
  });
  const collector = createCollector({
    ...deps,
    planner,
    ...(cluster ? { ownership: cluster } : {}),
    symbols: config.symbols,
    timeframe: tf,
    intervalMs: config.collectionIntervalMs,
    staleAfterMs: config.staleAfterMs,
    fetchConcurrency: config.fetchConcurrency,
    clock,
    states,
    ingest,
    sinks,
    signals,
    log,
    isStopping: () => shell.isStopping(),
    afterCycle: () => {
      if (shell.phase() === 'live') {
        // Cluster mode: a takeover's backfill goes first (gap repair and late finalisation draw on
        // the same history share of the provider budgets); their queues wait.
        if (cluster?.takingOver()) return;
        gapRepair.kick();
        finalizer.kick();
      }
    },
  });
  const loop = createCollectionLoop({
    intervalMs: config.collectionIntervalMs,
    scheduler: clock,
    tick: async () => {
      await collector.runCycle();
    },
    onOverrun: ({ cycle, durationMs, skipped }) => {
      deps.metrics.cycleOverruns.inc(skipped);
      log.warn('collection cycle overran its interval', { cycle, durationMs, skipped });
    },
    onError: (err) => log.error('collection cycle failed', { err }),
    // The cycle's garbage collected in the idle time after it, not by a pause inside the next one
    // (IDLE_GC=off: no runtime --expose-gc, V8 collects on its own).
    ...(config.idleGc ? { betweenCycles: createIdleGc() } : {}),
  });
  return {
    clock,
    log,
    now,
    states,
    signals,
    gapRepair,
    barEvents,
    onBarsRange,
    sinks,
    cluster,
    planner,
    finalizer,
    collector,
    loop,
  };
}

/** Beside the flow: the health rule, the read model (what the HTTP API reads), scrape-time gauges. */
function wireReadSide(
  config: SidecarConfig,
  deps: SidecarDeps,
  stages: ReturnType<typeof wireStages>,
  live: HealthOptions['live'],
) {
  const { clock, log, now, states, signals, cluster, planner } = stages;
  const health = createHealth({
    ...deps,
    clock,
    version: deps.version ?? '0.0.0',
    intervalMs: config.collectionIntervalMs,
    states,
    plan: () => planner.plan(),
    finalizer: () => stages.finalizer.stats(),
    ...(cluster ? { clusterHealth: () => cluster.health() } : {}),
    live,
  });
  const reads = createReadModel({
    ...deps,
    ...(cluster ? { features: cluster.features(deps.features) } : {}),
    clock,
    states,
    signals,
    log,
  });
  const scrape = deps.metrics.onScrape(() => ({
    ...scrapeGauges(deps, states.all()),
    refreshIntervals: planner.refreshIntervals(),
    stale: Object.fromEntries([...states.all()].map((s) => [s.symbol, states.freshness(s, now()).stale])),
  }));
  return { health, reads, scrape };
}

export function createSidecar(config: SidecarConfig, deps: SidecarDeps): Sidecar {
  let phase: Phase = 'starting';
  let bootstrapProgress: BootstrapProgress | null = null;
  let stopping: Promise<void> | undefined;
  let started = false;
  let unsubscribeStream: (() => void) | undefined;
  const progressEvents = createEmitter<BootstrapProgress>();
  const stages = wireStages(config, deps, { phase: () => phase, isStopping: () => stopping !== undefined });
  const { log, now, states, signals, sinks, cluster, planner, finalizer, collector, loop } = stages;
  const tf = config.timeframe;

  const { health, reads, scrape } = wireReadSide(config, deps, stages, () => ({
    phase,
    bootstrap: bootstrapProgress,
    cycles: collector.cycles,
    loopCycles: loop.cycles,
    overruns: loop.overruns,
    lastCycleMs: collector.lastCycleMs,
    loopRunning: loop.running,
  }));

  /**
   * `onSymbolDone`: the start warms each symbol once its history is written, from the newest
   * `keepNewest` bars the bootstrap wrote where they are all the store holds of it (see Warmer).
   */
  async function bootstrap(
    onSymbolDone?: (symbol: string, history?: readonly Bar[]) => void,
    keepNewest?: number,
  ): Promise<BootstrapReport> {
    phase = 'bootstrap';
    const report = await runStartBootstrap({
      ...deps,
      ...(onSymbolDone ? { onSymbolDone } : {}),
      ...(keepNewest !== undefined ? { keepNewest } : {}),
      symbols: config.symbols,
      timeframe: tf,
      days: config.bootstrapDays,
      now,
      symbolPort: deps.symbols,
      log,
      onProgress: (p) => {
        bootstrapProgress = p;
        progressEvents.emit(p);
      },
      isCancelled: () => stopping !== undefined,
    });
    if (phase === 'bootstrap') phase = 'starting';
    return report;
  }

  /**
   * Start step 1: the history, each symbol warmed (step 2) as soon as its own is written. Cluster
   * mode: each symbol's owner backfills it on takeover instead.
   */
  async function bootstrapStep(options: { skipBootstrap?: boolean }, warmer: Warmer): Promise<void> {
    if (options.skipBootstrap || config.bootstrapDays <= 0 || cluster) return;
    try {
      const r = await bootstrap((symbol, history) => warmer.symbolReady(symbol, history), warmer.keepBars);
      log.info('bootstrap finished', { ...r });
    } catch (err) {
      log.error('bootstrap failed; going live with what is stored', { err });
    }
  }

  /** Start step 2: indicators and cache from the store; a restart queues every finished period still stored as forming. */
  async function warmStep(warmer: Warmer): Promise<void> {
    if (cluster) return;
    await warmer.finish();
  }

  /** Start step 3: live. The stream subscribes, then (unless `loop: false`) the loop starts. */
  function liveStep(options: { loop?: boolean }): void {
    phase = 'live';
    const stream = deps.stream;
    if (stream)
      unsubscribeStream = stream.subscribe(config.symbols, (bar) =>
        collector.onStreamBar(bar, stream.source),
      );
    if (options.loop === false) return;
    loop.start();
    logLoopStarted(config, deps, planner, log);
  }

  async function start(options: { skipBootstrap?: boolean; loop?: boolean } = {}): Promise<void> {
    if (started) throw new LifecycleError(`start() called twice (phase ${phase})`);
    started = true;
    const warmer = createWarmer({
      ...deps,
      symbols: config.symbols,
      timeframe: tf,
      states,
      sinks,
      cacheBars: config.maxBarsCache,
      finalizer,
      isCancelled: () => stopping !== undefined,
    });
    await bootstrapStep(options, warmer);
    if (stopping) {
      await warmer.idle();
      return;
    }
    await warmStep(warmer);
    liveStep(options);
  }

  /** Stop: quiet the inputs, let in-flight work end, leave the cluster, then the ordered closers. */
  async function shutdown(): Promise<void> {
    phase = 'stopping';
    unsubscribeStream?.();
    scrape.dispose();
    const running = loop.stop();
    collector.abort();
    await running;
    await stages.gapRepair.idle();
    await finalizer.idle();
    if (cluster) await leaveCluster(deps, cluster, log);
    await runClosers(closers(deps), log);
    phase = 'stopped';
  }

  return {
    config,
    metrics: deps.metrics,
    onCycle: collector.onCycle,
    onSignal: signals.onSignal,
    onSignalHandle: signals.onSignalHandle,
    onBars: stages.barEvents.on,
    onBarsRange: stages.onBarsRange,
    onFetched: collector.onFetched,
    onBootstrapProgress: progressEvents.on,
    get ready() {
      return phase === 'live';
    },
    start,
    runCycle: () => collector.runCycle(),
    bootstrap,
    stop() {
      stopping ??= shutdown();
      return stopping;
    },
    health: () => health.report(),
    healthSummary: () => health.summary(),
    liveness: () => health.liveness(),
    readiness: () => health.readiness(),
    cluster,
    ...reads,
  };
}

/** Warns about sources whose budget cannot give every symbol the interval, then logs the start. */
function logLoopStarted(
  config: SidecarConfig,
  deps: SidecarDeps,
  planner: RequestPlanner,
  log: Logger,
): void {
  for (const p of planner.shortfalls(config.symbols.length))
    log.warn('the rate budget cannot give every symbol the configured interval from this source', {
      source: p.source,
      limitedBy: p.limitedBy,
      plannedPerMinute: p.plannedPerMinute,
      symbols: p.symbols,
      intervalMs: config.collectionIntervalMs,
      refreshMs: p.refreshMs,
    });
  log.info('collection loop started', {
    symbols: config.symbols.length,
    sources: deps.sources.map((s) => s.name),
    intervalMs: config.collectionIntervalMs,
  });
}

/**
 * Cluster mode's exit: flush first, so the next owner's backfill starts after this instance's last
 * stored bar; then release the leases at once (others take over on their next cycle).
 */
async function leaveCluster(deps: SidecarDeps, cluster: ClusterStage, log: Logger): Promise<void> {
  try {
    await deps.store.flush();
  } catch (err) {
    log.error('flushing the store before leaving the cluster failed', { err });
  }
  try {
    await cluster.leave();
  } catch (err) {
    log.error('leaving the cluster failed; the leases lapse after LEASE_TTL', { err });
  }
}

/** Runs each closer in order; a failing one is logged and the rest still run. */
async function runClosers(list: readonly Closer[], log: Logger): Promise<void> {
  for (const [name, close] of list) {
    try {
      await close();
    } catch (err) {
      log.error(`closing ${name} failed`, { err });
    }
  }
}

type Closer = readonly [name: string, close: () => Promise<unknown>];

/** What stop() closes, in order: the store first (it flushes), the cache, the stream, the sources. */
function closers(deps: SidecarDeps): Closer[] {
  const stream = deps.stream;
  return [
    ['store', () => deps.store.close()],
    ['cache', () => deps.cache.close()],
    ...(stream ? [['stream', () => stream.close()] as const] : []),
    ...deps.sources.map((s) => [`source ${s.name}`, () => s.fetcher.close()] as const),
    ['breaker', async () => deps.breaker.close()],
    ...(deps.closers ?? []).map((c, i) => [`closer ${i}`, c] as const),
    ...(deps.cluster?.close ? [['cluster', deps.cluster.close] as const] : []),
  ];
}

/** Scrape-time gauges: last bar per symbol, breaker states, rate budgets, pending store writes. */
function scrapeGauges(deps: SidecarDeps, states: Iterable<SymbolState>) {
  const lastBarTs: Record<string, number | null> = {};
  for (const s of states) lastBarTs[s.symbol] = s.lastBar?.ts ?? null;
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
}
