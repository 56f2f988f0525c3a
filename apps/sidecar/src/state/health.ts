// Health: what /health reports, and the one rule that turns it into ok, degraded or down.
import { type Clock, type SourceName } from '@pipeline/core';
import { type ClusterHealth } from '../cluster/stage';
import { type BootstrapProgress } from '../pipeline/bootstrap';
import { type FinalizerStats } from '../pipeline/finalizer';
import { type SourcePlan } from '../pipeline/planner';
import { type BarCachePort, type BarStorePort, type BreakerPort, type SourceSlot } from '../ports';
import { type StaleReason } from './freshness';
import { type SymbolStates } from './symbol-state';

export const HEALTH_STATUSES = { ok: 'ok', degraded: 'degraded', down: 'down' } as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[keyof typeof HEALTH_STATUSES];

/** Where the service is in its lifecycle. */
export type Phase = 'starting' | 'bootstrap' | 'live' | 'stopping' | 'stopped';

export interface HealthReport {
  status: HealthStatus;
  version: string;
  uptimeSec: number;
  phase: Phase;
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
    /** The request planner's plan: the budget spread over its windows, and each symbol's refresh interval. */
    plan?: Omit<SourcePlan, 'source'>;
  }[];
  symbols: {
    symbol: string;
    brokerSymbol: string;
    lastBarTs: number | null;
    ageMs: number | null;
    stale: boolean;
    /** Why the data is stale (state/freshness.ts): `no_answer`, `frozen` or `old_bar`; null when fresh. */
    staleReason: StaleReason | null;
    source: SourceName | null;
  }[];
  storage: {
    cache: string;
    /** Redis command connections (REDIS_POOL_SIZE) and how many are ready; absent for the in-process cache. */
    cacheConnections?: { total: number; ready: number };
    sqlite: string;
    pendingWrites: number;
  };
  /** Cluster mode only: this instance, the cluster and the symbols this instance owns. */
  cluster?: ClusterHealth & { ownedCount: number };
  /** Late finalisation (pipeline/finalizer.ts): finished periods waiting for their final bar, and those given up. */
  finalizer?: FinalizerStats;
}

/** The facts the status rule looks at. */
export interface HealthFacts {
  phase: Phase;
  /** Cycles run so far. */
  cycles: number;
  symbols: number;
  staleSymbols: number;
  /** Sources whose breaker is open or which cool down after a 429. */
  unavailableSources: number;
  cache: 'ready' | 'connecting' | 'down';
  store: 'up' | 'failing' | 'closed';
}

/**
 * THE health rule. down: stopped, or every symbol stale after at least one cycle. degraded: not
 * live yet, any symbol stale, any source unavailable, the cache not ready or the store not up.
 */
export function healthStatus(f: HealthFacts): HealthStatus {
  if (isDown({ ...f, everySymbolStale: f.symbols > 0 && f.staleSymbols === f.symbols })) return 'down';
  if (
    f.phase !== 'live' ||
    f.staleSymbols > 0 ||
    f.unavailableSources > 0 ||
    f.cache !== 'ready' ||
    f.store !== 'up'
  )
    return 'degraded';
  return 'ok';
}

/**
 * The `down` half of {@link healthStatus} alone, which is all readiness needs: stopped, or every
 * symbol (at least one) stale after at least one cycle.
 */
export function isDown(f: Pick<HealthFacts, 'phase' | 'cycles'> & { everySymbolStale: boolean }): boolean {
  return f.phase === 'stopped' || (f.cycles > 0 && f.everySymbolStale);
}

/** What a probe (`/health/live`, `/health/ready`) answers: HTTP 200 when `ok`, else 503, with `status`. */
export interface ProbeResult {
  ok: boolean;
  /**
   * Liveness: `ok`, `down` (stopped) or `stalled` (the loop started no cycle for `stallAfterMs`).
   * Readiness: `ready`, the phase while not live, or `down`.
   */
  status: string;
}

/** The store's state as /health names it. */
export function storeState(
  store: Pick<BarStorePort, 'isClosed' | 'stats'> & Partial<Pick<BarStorePort, 'kind' | 'health'>>,
): HealthFacts['store'] {
  if (store.isClosed) return 'closed';
  // PostgreSQL: its own health (down, or a failed flush still waiting for its retry). Its
  // `failedFlushes` counts forever, and rows are pending between any two flushes, so the rule below
  // would say `failing` for good after one outage (cluster-outage.rel.test.ts).
  if (store.kind === 'postgres' && store.health) return store.health().status === 'ready' ? 'up' : 'failing';
  const stats: { failedFlushes: number; pending: number; consecutiveFailures?: number } = store.stats();
  // SQLite: failing from a failed flush until one succeeds again (its consecutiveFailures).
  if (typeof stats.consecutiveFailures === 'number') return stats.consecutiveFailures > 0 ? 'failing' : 'up';
  return stats.failedFlushes > 0 && stats.pending > 0 ? 'failing' : 'up';
}

export interface HealthOptions {
  clock: Clock;
  version: string;
  /** COLLECTION_INTERVAL in ms, reported as is. */
  intervalMs: number;
  sources: readonly SourceSlot[];
  breaker: BreakerPort;
  store: BarStorePort;
  cache: BarCachePort;
  states: SymbolStates;
  /** The request planner's plan per source, read at report time. @default none */
  plan?: () => readonly SourcePlan[];
  /** Cluster mode: who owns what, read at report time. @default none */
  clusterHealth?: () => ClusterHealth;
  /** The late finaliser's counters, read at report time. @default none */
  finalizer?: () => FinalizerStats;
  /** The live values of the lifecycle and the loop, read at report time. */
  live: () => {
    phase: Phase;
    bootstrap: BootstrapProgress | null;
    cycles: number;
    loopCycles: number;
    overruns: number;
    lastCycleMs: number | null;
    /** Whether the collection loop is running (liveness watches its cycles only then). @default false */
    loopRunning?: boolean;
  };
  /**
   * Liveness: how long (ms) the running loop may go without starting a cycle before `/health/live`
   * answers 503 `stalled` (a cycle that hangs). @default max(60 s, 10 x intervalMs)
   */
  stallAfterMs?: number;
}

/** `/health`'s status and each source's breaker state, as in the report ({@link Health.summary}). */
export interface HealthSummary {
  status: HealthStatus;
  sources: { name: SourceName; breaker: string }[];
}

export interface Health {
  /** The whole `/health` report: every source and every symbol, O(symbols). */
  report(): HealthReport;
  /**
   * The report's `status` and each source's `name` and `breaker` alone, by the same rule: no entry
   * per symbol (each is only judged stale or not). For a watcher that asks every cycle (the push
   * stream's feed while a client listens).
   */
  summary(): HealthSummary;
  /**
   * `/health/live`, constant time: the process answers, is not stopped, and its loop (when running)
   * started a cycle within `stallAfterMs`. It does not look at sources, symbols or storage: an outage
   * there is not cured by a restart.
   */
  liveness(): ProbeResult;
  /**
   * `/health/ready`: live (bootstrap and warm start done) and not down. Only the `down` half of the
   * rule is judged, and the stale scan stops at the first fresh symbol (O(1) while the first is
   * fresh, O(symbols) only when readiness fails anyway).
   */
  readiness(): ProbeResult;
}

/** Builds the /health report, and answers the two probes, on demand. */
export function createHealth(options: HealthOptions): Health {
  const { clock, states, breaker, store, cache } = options;
  const startedAt = clock.now();
  const stallAfterMs = options.stallAfterMs ?? Math.max(60_000, 10 * options.intervalMs);
  // Liveness watches the loop's cycle counter: when it last changed (as far as the probes saw).
  let seenCycles = -1;
  let seenAt = 0;
  const everySymbolStale = (now: number): boolean => {
    let any = false;
    for (const s of states.all()) {
      if (!states.stale(s, now)) return false;
      any = true;
    }
    return any;
  };
  return {
    liveness() {
      const live = options.live();
      if (live.phase === 'stopped') return { ok: false, status: 'down' };
      if (!live.loopRunning) {
        seenCycles = -1;
        return { ok: true, status: 'ok' };
      }
      const now = clock.now();
      if (live.loopCycles !== seenCycles) {
        seenCycles = live.loopCycles;
        seenAt = now;
      }
      return now - seenAt > stallAfterMs ? { ok: false, status: 'stalled' } : { ok: true, status: 'ok' };
    },
    readiness() {
      const live = options.live();
      if (live.phase !== 'live') return { ok: false, status: live.phase };
      // Before the first cycle nothing can be down: the symbols are not judged at all.
      const down =
        live.cycles > 0 &&
        isDown({ phase: live.phase, cycles: live.cycles, everySymbolStale: everySymbolStale(clock.now()) });
      if (down) return { ok: false, status: 'down' };
      return { ok: true, status: 'ready' };
    },
    summary() {
      const now = clock.now();
      const live = options.live();
      let symbols = 0;
      let staleSymbols = 0;
      for (const s of states.all()) {
        symbols++;
        if (states.stale(s, now)) staleSymbols++;
      }
      let unavailableSources = 0;
      const sources = options.sources.map((s) => {
        const st = breaker.snapshot(s.name);
        if (st.state === 'open' || (st.coolingDownUntil !== null && st.coolingDownUntil > now))
          unavailableSources++;
        return { name: s.name, breaker: st.state };
      });
      const status = healthStatus({
        phase: live.phase,
        cycles: live.cycles,
        symbols,
        staleSymbols,
        unavailableSources,
        cache: cache.health().status,
        store: storeState(store),
      });
      return { status, sources };
    },
    report() {
      const now = clock.now();
      const live = options.live();
      // One array, no copy of the states first (the report lists every symbol).
      const symbols: HealthReport['symbols'] = [];
      let staleSymbols = 0;
      for (const s of states.all()) {
        const { ageMs, stale, reason } = states.freshness(s, now);
        if (stale) staleSymbols++;
        symbols.push({
          symbol: s.symbol,
          brokerSymbol: s.brokerSymbol,
          lastBarTs: s.lastBar?.ts ?? null,
          ageMs,
          stale,
          staleReason: reason,
          source: s.lastSource,
        });
      }
      const plans = new Map((options.plan?.() ?? []).map(({ source, ...p }) => [source, p]));
      const sources = options.sources.map((s) => {
        const st = breaker.snapshot(s.name);
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
          ...(plans.has(s.name) ? { plan: plans.get(s.name) } : {}),
        };
      });
      const cacheHealth = cache.health();
      const sqlite = storeState(store);
      const status = healthStatus({
        phase: live.phase,
        cycles: live.cycles,
        symbols: symbols.length,
        staleSymbols,
        unavailableSources: sources.filter((s) => s.breaker === 'open' || s.coolingDownUntil !== null).length,
        cache: cacheHealth.status,
        store: sqlite,
      });
      return {
        status,
        version: options.version,
        uptimeSec: Math.round((now - startedAt) / 1000),
        phase: live.phase,
        bootstrap: live.bootstrap,
        loop: {
          cycles: live.loopCycles || live.cycles,
          overruns: live.overruns,
          lastCycleMs: live.lastCycleMs,
          intervalMs: options.intervalMs,
        },
        sources,
        symbols,
        storage: {
          cache: `${cache.kind}:${cacheHealth.status}`,
          ...(cacheHealth.connections ? { cacheConnections: cacheHealth.connections } : {}),
          sqlite,
          pendingWrites: store.stats().pending,
        },
        ...(options.finalizer ? { finalizer: options.finalizer() } : {}),
        ...(options.clusterHealth
          ? (() => {
              const c = options.clusterHealth();
              return { cluster: { ...c, ownedCount: c.owned.length } };
            })()
          : {}),
      };
    },
  };
}
