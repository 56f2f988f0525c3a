// The cluster stage: what cluster mode adds to one sidecar's cycle. Before each cycle the coordinator
// renews this instance's leases and works out its share; the collect stage fetches only the symbols
// this instance owns and has taken over completely (backfilled from the providers through the
// bootstrap/gap-repair path, indicators warmed from history); writes of a cycle go out only for the
// symbols whose lease the fence still confirms. Symbols owned by others are mirrored from the shared
// cache (last bar, signal, features), so every instance answers reads for every symbol.
import { TIMEFRAME_MS, alignTs, isFetchError, type Timeframe } from '@pipeline/core';
import { AllSourcesFailedError } from '../errors';
import { type BarCachePort, type BarStorePort, type FeatureEnginePort, type SourceSlot } from '../ports';
import { type SymbolStates } from '../state/symbol-state';
import { type StoredSignal } from '../strategy/scanner';
import { type Logger } from '../wiring/logger';
import { type ClusterCoordinator, type LeaseInfo, type MemberInfo } from './coordinator';
import { createClusterMirror, type ClusterMirrorCache } from './mirror';
import { type SharedLimits } from './shared-budget';

export { type ClusterMirrorCache } from './mirror';

/** Bars of history fed to the indicators (and written to the shared cache) on a takeover. */
const TAKEOVER_WARM_BARS = 500;

/** Cluster mode's dependencies (wiring/wiring.ts builds them from CLUSTER_NAME, INSTANCE_ID, LEASE_TTL). */
export interface ClusterDeps {
  clusterName: string;
  coordinator: ClusterCoordinator;
  /** The shared hot cache, read for the symbols other instances own. */
  mirror: ClusterMirrorCache;
  /** Closed at shutdown after the leases are released (e.g. the coordinator's own Redis client). */
  close?: () => Promise<void>;
  /**
   * The limits the request planner spreads for a source (the provider's, less the part the shared
   * budget keeps for history requests). @default the fetcher's declared limits
   */
  pollLimits?: (slot: SourceSlot) => SharedLimits;
}

/** `GET /cluster`. */
export interface ClusterView {
  cluster: string;
  instanceId: string;
  leaseTtlMs: number | null;
  members: (MemberInfo & { self: boolean; symbols: string[] })[];
  leases: LeaseInfo[];
}

/** The `cluster` part of `/health`. */
export interface ClusterHealth {
  cluster: string;
  instanceId: string;
  members: number;
  /** Symbols whose lease this instance holds. */
  owned: string[];
  /**
   * Of those, the ones not collected yet: being taken over (backfill, warm-up), or waiting to be
   * taken over again (a takeover that failed because the history or a provider was unreachable, or
   * writes the fence refused while Redis was unreachable); retried every cycle.
   */
  takingOver: string[];
  /** The last coordinator round failed (Redis unreachable): nothing is written until it succeeds. */
  lastTickError: string | null;
}

export interface ClusterStageOptions extends ClusterDeps {
  symbols: readonly string[];
  timeframe: Timeframe;
  /** BOOTSTRAP_DAYS: how far back a takeover reaches when the store has nothing for the symbol. */
  bootstrapDays: number;
  leaseTtlMs?: number;
  store: Pick<BarStorePort, 'latest'>;
  cache: Pick<BarCachePort, 'writeBars'>;
  features: FeatureEnginePort;
  states: SymbolStates;
  /** Signals of other owners land in the local book (read by /signals). */
  adoptSignal: (signal: StoredSignal) => void;
  /** Fetches [from, to) of one symbol from the providers into the store (the gap-repair path). */
  backfill: (symbol: string, from: number, to: number) => Promise<number>;
  now: () => number;
  log: Logger;
}

export interface ClusterStage {
  readonly instanceId: string;
  /** Coordinator round and mirror refresh; call at the start of every cycle. Never rejects. */
  beforeCycle(): Promise<void>;
  /** True for the symbols this instance collects now (owned and taken over). */
  isCollecting(symbol: string): boolean;
  /** True for the symbols whose lease this instance holds (taken over or still being taken over). */
  owns(symbol: string): boolean;
  /**
   * True while a symbol this instance owns is not collected yet (being taken over, or waiting to be
   * taken over again). The late finaliser then leaves the history share of the provider budgets to
   * the takeover's backfill.
   */
  takingOver(): boolean;
  /**
   * This instance's part of the cluster's work: owned symbols / all symbols (0..1). The request
   * planner plans this part of each provider budget.
   */
  share(): number;
  /** Of `symbols`, those this instance may still write (one O(1) Redis call). */
  fence(symbols: Iterable<string>): Promise<Set<string>>;
  /** The features port seen by readers: mirrored values for symbols other instances own. */
  features(local: Pick<FeatureEnginePort, 'latest'>): Pick<FeatureEnginePort, 'latest'>;
  view(): Promise<ClusterView>;
  health(): ClusterHealth;
  /** Resolves when every takeover and the mirror refresh in progress are done (tests). */
  settled(): Promise<void>;
  /** Graceful stop: release every lease at once so others take over within a second. */
  leave(): Promise<void>;
}

/**
 * True when a backfill chunk failed because no configured source carries the symbol: every source
 * asked answered symbol_not_found (e.g. a symbol the symbol mapper does not know), the others lack
 * the timeframe. Retrying cannot help; the takeover goes live as single-instance mode does (the
 * collector keeps asking, the symbol stays without data). An outage, a spent budget or an open
 * breaker is not this: such a chunk fails the takeover, which is retried next cycle.
 */
export function isNotCarriedAnywhere(error: unknown): boolean {
  if (!(error instanceof AllSourcesFailedError)) return false;
  const notFound = error.attempts.filter(
    (a) => a.outcome === 'failed' && isFetchError(a.error) && a.error.kind === 'symbol_not_found',
  ).length;
  return (
    notFound > 0 &&
    error.attempts.every(
      (a) =>
        a.outcome === 'skipped_unsupported' ||
        (a.outcome === 'failed' && isFetchError(a.error) && a.error.kind === 'symbol_not_found'),
    )
  );
}

/**
 * Takes a symbol over: backfill from its last stored bar (or BOOTSTRAP_DAYS back) through the
 * gap-repair path, warm the indicators from history, and go live once the lease is confirmed.
 */
async function takeOver(
  options: ClusterStageOptions,
  symbol: string,
  live: Set<string>,
  forget: (symbol: string) => void,
): Promise<void> {
  const { coordinator, log, states } = options;
  const tf = options.timeframe;
  const tfMs = TIMEFRAME_MS[tf];
  const t0 = options.now();
  const to = alignTs(t0, tf);
  const stored = (await options.store.latest(symbol, tf, 1)).at(-1);
  const from = stored ? stored.ts + tfMs : to - options.bootstrapDays * 86_400_000;
  let backfilled = 0;
  if (from < to) backfilled = await options.backfill(symbol, from, to);
  if (!coordinator.isOwner(symbol)) return; // lost it again while backfilling
  const history = await options.store.latest(symbol, tf, TAKEOVER_WARM_BARS);
  // The indicators skip what they have seen already (a symbol owned here before): only newer
  // history moves them on, the same-ts bar replaces.
  for (const bar of history) options.features.update(bar);
  const state = states.get(symbol);
  const last = history.at(-1);
  if (last && (!state.lastBar || state.lastBar.ts <= last.ts)) state.lastBar = last;
  forget(symbol);
  // Live only once the lease is confirmed (Redis reachable, not lapsed); otherwise the next
  // cycle's coordinator round decides and the takeover runs again.
  const allowed = await coordinator.fence([symbol]);
  if (!allowed.has(symbol)) return;
  if (history.length > 0) {
    try {
      await options.cache.writeBars(history);
    } catch (err) {
      log.warn('cluster takeover: writing history to the shared cache failed', { symbol, err });
    }
  }
  if (!coordinator.isOwner(symbol)) return;
  live.add(symbol);
  log.info('cluster: took over symbol', {
    symbol,
    backfilled,
    from: from < to ? new Date(from).toISOString() : null,
    ms: options.now() - t0,
  });
}

export function createClusterStage(options: ClusterStageOptions): ClusterStage {
  const { coordinator, log, states } = options;
  const tf = options.timeframe;
  /** Owned and taken over: the collect stage fetches these. */
  const live = new Set<string>();
  /** Takeovers in progress, by symbol. */
  const taking = new Map<string, Promise<void>>();
  const mirror = createClusterMirror({
    cache: options.mirror,
    symbols: options.symbols,
    timeframe: tf,
    states,
    isOwner: (s) => coordinator.isOwner(s),
    adoptSignal: options.adoptSignal,
    now: options.now,
  });
  let lastTickError: string | null = null;
  /** When a coordinator round last succeeded (the leases held were renewed then). */
  let lastTickOkAt = options.now();
  /** The mirror refresh in flight (one at a time). */
  let mirroring: Promise<void> | undefined;
  let leaving = false;

  /** Starts a takeover unless one runs for the symbol (a failed one is retried next cycle). */
  function startTakeover(symbol: string): void {
    if (taking.has(symbol) || leaving) return;
    const p = takeOver(options, symbol, live, (s) => mirror.forget(s))
      .catch((err: unknown) => log.warn('cluster takeover failed; retried next cycle', { symbol, err }))
      .finally(() => taking.delete(symbol));
    taking.set(symbol, p);
  }

  coordinator.onAcquire((symbols) => {
    for (const symbol of symbols) startTakeover(symbol);
  });
  coordinator.onRelease((symbols) => {
    for (const symbol of symbols) {
      live.delete(symbol);
      // The forming bar is the new owner's now; the mirror brings this instance's view up to date.
      const state = states.find(symbol);
      if (state?.lastBar && !state.lastBar.final) state.lastBar = null;
    }
    log.info('cluster: released symbols', { symbols });
  });

  return {
    instanceId: coordinator.instanceId,
    async beforeCycle() {
      if (leaving) return;
      try {
        await coordinator.tick();
        lastTickError = null;
        lastTickOkAt = options.now();
      } catch (err) {
        // Logged when the trouble starts, not every cycle; /health shows it while it lasts.
        if (lastTickError === null)
          log.warn('cluster: coordinator round failed; writes wait for the fence', { err });
        lastTickError = err instanceof Error ? err.message : String(err);
        // No round for a whole LEASE_TTL: every lease held here has lapsed, so the fence would refuse
        // whatever is polled now (it spends the shared budget for nothing, and the poll interval
        // decided when the fence found out). Collection stops at once; each owned symbol is taken
        // over again (backfilled from its last stored bar) once a round confirms its lease.
        if (live.size > 0 && options.now() - lastTickOkAt >= coordinator.leaseTtlMs) {
          log.warn('cluster: leases lapsed while the coordinator cannot reach Redis; collection stops', {
            symbols: [...live],
          });
          live.clear();
        }
      }
      // A takeover that failed (provider or store down) is tried again once Redis answers.
      if (lastTickError === null)
        for (const symbol of coordinator.owned().keys()) if (!live.has(symbol)) startTakeover(symbol);
      // Off the cycle's critical path: the mirror only feeds readers, the fetches need not wait.
      mirroring ??= mirror
        .refresh()
        .catch((err: unknown) => log.debug('cluster: mirror refresh failed', { err }))
        .finally(() => (mirroring = undefined));
    },
    isCollecting: (symbol) => live.has(symbol) && coordinator.isOwner(symbol),
    owns: (symbol) => coordinator.isOwner(symbol),
    takingOver() {
      for (const symbol of coordinator.owned().keys()) if (!live.has(symbol)) return true;
      return false;
    },
    share: () => (options.symbols.length === 0 ? 0 : coordinator.owned().size / options.symbols.length),
    async fence(symbols) {
      const list = [...new Set(symbols)];
      if (list.length === 0) return new Set();
      let allowed: Set<string>;
      try {
        allowed = await coordinator.fence(list);
      } catch (err) {
        log.warn('cluster: fence failed; the cycle writes nothing', { err });
        allowed = new Set();
      }
      // Bars collected but not written (Redis unreachable, or the lease lapsed during a pause) are
      // missing from the history: such a symbol goes through the takeover again once the lease is
      // confirmed, which backfills from its last stored bar.
      for (const symbol of list) if (!allowed.has(symbol)) live.delete(symbol);
      return allowed;
    },
    features(local) {
      return {
        latest(symbol) {
          if (coordinator.isOwner(symbol)) return local.latest(symbol);
          return mirror.features(symbol) ?? local.latest(symbol);
        },
      };
    },
    async view() {
      const leases = await coordinator.leases();
      const members = coordinator.members().map((m) => ({
        ...m,
        self: m.id === coordinator.instanceId,
        symbols: leases.filter((l) => l.owner === m.id).map((l) => l.symbol),
      }));
      return {
        cluster: options.clusterName,
        instanceId: coordinator.instanceId,
        leaseTtlMs: options.leaseTtlMs ?? null,
        members,
        leases,
      };
    },
    health() {
      return {
        cluster: options.clusterName,
        instanceId: coordinator.instanceId,
        members: coordinator.members().length,
        owned: [...coordinator.owned().keys()],
        takingOver: [...coordinator.owned().keys()].filter((s) => !live.has(s)),
        lastTickError,
      };
    },
    async settled() {
      await Promise.all([...taking.values(), mirroring]);
    },
    async leave() {
      if (leaving) return;
      leaving = true;
      live.clear();
      await Promise.allSettled(taking.values());
      await coordinator.leave();
    },
  };
}
