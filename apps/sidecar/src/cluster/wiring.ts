// Cluster mode from the configuration: the history store (PostgreSQL when HISTORY_URL is set), the
// coordinator on its own ioredis connection (same server and key prefix as the hot cache), and the
// provider budgets shared through Redis in front of every rate-limited fetcher.
import {
  FetchError,
  isFetchError,
  systemClock,
  type Bar,
  type FetchHistoryRequest,
  type FetchLatestRequest,
  type Fetcher,
  type RateBudgetSnapshot,
  type Scheduler,
} from '@pipeline/core';
import { isBatchFetcher, type BatchFetcher } from '@pipeline/fetchers';
import { createPgStore } from '@pipeline/pg-store';
import { Cluster, Redis } from 'ioredis';
import { type BarStorePort, type SourceSlot } from '../ports';
import { type SidecarConfig } from '../wiring/config';
import { type Logger } from '../wiring/logger';
import { createClusterCoordinator } from './coordinator';
import {
  createSharedBudget,
  type SharedBudget,
  type SharedBudgetAnswer,
  type SharedLimits,
} from './shared-budget';
import { type ClusterDeps, type ClusterMirrorCache } from './stage';

/** HISTORY_URL set: the history in PostgreSQL, flushed every BATCH_WRITE_INTERVAL; null otherwise. */
export function createPgHistoryFromConfig(
  config: SidecarConfig,
  clock: Scheduler = systemClock,
): BarStorePort | null {
  if (!config.historyUrl) return null;
  return createPgStore({
    url: config.historyUrl,
    flushIntervalMs: config.batchWriteIntervalMs,
    scheduler: clock,
    applicationName: config.clusterName ? `pipeline-sidecar:${config.instanceId}` : 'pipeline-sidecar',
  });
}

/** A Redis client for coordination and budgets (not the cache's pool: its commands never wait behind bars). */
export function createClusterRedis(config: SidecarConfig): Redis | Cluster {
  if (config.redisClusterNodes) {
    return new Cluster(
      config.redisClusterNodes.map((n) => {
        const [host, port] = n.split(':');
        return { host: host ?? '', port: Number(port) };
      }),
      // As the single-node client below. (A Cluster client keeps commands in its own offline queue
      // while no node answers; the coordinator bounds every round by LEASE_TTL itself.)
      { redisOptions: { maxRetriesPerRequest: 1 } },
    );
  }
  const url = config.redisUrl;
  // The configuration refuses CLUSTER_NAME without REDIS_URL or REDIS_CLUSTER_NODES (exit 78).
  if (url === undefined) throw new TypeError('cluster mode needs REDIS_URL or REDIS_CLUSTER_NODES');
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    lazyConnect: false,
  });
}

/**
 * Cluster mode's dependencies when CLUSTER_NAME is set (null otherwise), and the sources with the
 * shared budget in front of them.
 */
export function createClusterFromConfig(
  config: SidecarConfig,
  mirror: ClusterMirrorCache,
  sources: readonly SourceSlot[],
  log?: Logger,
): { cluster: ClusterDeps; sources: SourceSlot[] } | null {
  if (!config.clusterName) return null;
  const redis = createClusterRedis(config);
  redis.on('error', (err: Error) => log?.debug('cluster redis connection error', { err: err.message }));
  const coordinator = createClusterCoordinator({
    redis,
    prefix: config.redisKeyPrefix,
    cluster: config.clusterName,
    instanceId: config.instanceId,
    leaseTtlMs: config.leaseTtlMs,
    symbols: config.symbols,
    onEventError: (err) => log?.debug('cluster events channel error', { err }),
  });
  const budget = createSharedBudget({ redis, prefix: config.redisKeyPrefix });
  const keyOf = (name: string): string | undefined =>
    (config.apiKeys as Record<string, string | undefined>)[name];
  return {
    cluster: {
      clusterName: config.clusterName,
      coordinator,
      mirror,
      pollLimits: (slot) => pollLimits(slot.fetcher.capabilities.rateLimits),
      close: async () => {
        await coordinator.close();
        await redis.quit().catch(() => redis.disconnect());
      },
    },
    sources: sources.map((slot) => withSharedBudget(slot, budget, keyOf(slot.name), log)),
  };
}

/**
 * The error a refused take() raises: the fallback order moves on to the next source this cycle.
 * `cooldown`: carry the wait as retryAfterMs, which makes this instance's breaker cool the whole
 * source down for that long (every kind of request). Only a refusal that holds for every kind may
 * do that: a live poll refused at the poll limits must not stop the history requests the rest of
 * the budget is kept for (a takeover's backfill would wait out the poll window, tens of seconds).
 */
function budgetRefused(
  source: SourceSlot['name'],
  waitMs: number,
  symbol: string | undefined,
  cooldown: boolean,
): FetchError {
  return new FetchError({
    kind: 'rate_limited',
    source,
    ...(symbol ? { symbol } : {}),
    ...(cooldown ? { retryAfterMs: waitMs } : {}),
    message: `shared cluster rate budget spent; retry in ${waitMs} ms`,
  });
}

/** What a source's calls pay the shared budget through (see {@link withSharedBudget}). */
interface BudgetGate {
  /** Takes `count` units at once; throws the refusal as a rate_limited FetchError. Redis down: fail open. */
  take(symbol: string, kind: 'poll' | 'history', count?: number): Promise<void>;
  /** Pays, then runs `run`; a provider's Retry-After seen by it blocks the provider for every instance. */
  guarded<T>(symbol: string, kind: 'poll' | 'history', run: () => Promise<T>, count?: number): Promise<T>;
  /** The provider itself said wait (429, Retry-After, spent quota): every instance waits. */
  shareProviderBlock(err: unknown): Promise<void>;
  /** Records `extra` history requests a fetcher made beyond the one paid for. */
  spend(extra: number): Promise<void>;
  /** The shared budget's remaining count (what /health shows). */
  snapshot(): RateBudgetSnapshot;
}

function createBudgetGate(
  slot: SourceSlot,
  budget: SharedBudget,
  apiKey: string | undefined,
  limits: SharedLimits,
  log: Logger | undefined,
  now: () => number,
): BudgetGate {
  const f = slot.fetcher;
  // Live polls may spend only part of each minute's and day's budget; the rest is kept for history
  // requests (a takeover's backfill, gap repair), which otherwise lose every race against N
  // instances polling at full speed. One log in Redis counts both kinds.
  const polls = pollLimits(limits);
  /** The shared budget's last answer against the full limits (for budget()), and when it came. */
  let shared: { answer: SharedBudgetAnswer; at: number } | null = null;
  let peeking = false;
  const remember = (answer: SharedBudgetAnswer, kind: 'poll' | 'history'): void => {
    // A poll's answer counts against the poll limits: add back what they keep for history.
    const add = (full: number | null | undefined, part: number | null | undefined, left: number | null) =>
      left === null || !full ? left : left + (full - (part ?? full));
    shared = {
      at: now(),
      answer:
        kind === 'history'
          ? answer
          : {
              ...answer,
              minuteLeft: add(limits.perMinute, polls.perMinute, answer.minuteLeft),
              dayLeft: add(limits.perDay, polls.perDay, answer.dayLeft),
            },
    };
  };

  async function takeOne(symbol: string, kind: 'poll' | 'history', count = 1): Promise<void> {
    let answer: SharedBudgetAnswer | null = null;
    try {
      answer = await budget.take(slot.name, apiKey, kind === 'poll' ? polls : limits, count);
    } catch (err) {
      // Redis unreachable: the fetcher's own in-process budget still applies (fail open, so a Redis
      // outage does not stop collection; N instances may then together exceed the shared limit).
      log?.debug('shared budget unavailable; in-process budget only', { source: slot.name, err });
    }
    if (answer) remember(answer, kind);
    // A history refusal means the full limits are spent (polls would be refused too); a poll refusal
    // holds for history only while the provider asked every instance to wait or the per-second
    // window (the same for both kinds) is full.
    if (answer && !answer.granted)
      throw budgetRefused(
        slot.name,
        answer.waitMs,
        symbol,
        kind === 'history' || answer.blockedUntil !== null || answer.secondLeft === 0,
      );
  }

  async function shareProviderBlock(err: unknown): Promise<void> {
    // A refusal by this process's own budget or by the shared one is not the provider's word.
    if (!isFetchError(err) || err.kind !== 'rate_limited') return;
    if (/local rate budget|shared cluster rate budget/.test(err.message)) return;
    const ms = err.retryAfterMs;
    if (typeof ms === 'number' && ms > 0)
      await budget
        .block(slot.name, apiKey, ms)
        .catch((e: unknown) => log?.debug('shared budget block failed', { err: e }));
  }

  async function guarded<T>(
    symbol: string,
    kind: 'poll' | 'history',
    run: () => Promise<T>,
    count = 1,
  ): Promise<T> {
    await takeOne(symbol, kind, count);
    try {
      return await run();
    } catch (err) {
      await shareProviderBlock(err);
      throw err;
    }
  }

  function snapshot(): RateBudgetSnapshot {
    const local = f.budget();
    const t = now();
    if (!peeking && (!shared || t - shared.at > 1_000)) {
      peeking = true;
      budget
        .peek(slot.name, apiKey, limits)
        .then((a) => remember(a, 'history'))
        .catch(() => undefined) // Redis down: the last answer (or the local budget) stays
        .finally(() => (peeking = false));
    }
    if (!shared) return local;
    const a = shared.answer;
    const blockedUntil = Math.max(a.blockedUntil ?? 0, local.blockedUntil ?? 0) || null;
    return {
      perMinuteLeft: limits.perMinute ? a.minuteLeft : local.perMinuteLeft,
      perDayLeft: limits.perDay ? a.dayLeft : local.perDayLeft,
      dayResetsAt: local.dayResetsAt,
      blockedUntil,
    };
  }

  return {
    take: takeOne,
    guarded,
    shareProviderBlock,
    spend: (extra) =>
      budget
        .spend(slot.name, apiKey, limits, extra)
        .then((a) => remember(a, 'history'))
        .catch((err: unknown) => log?.debug('shared budget spend failed', { err })),
    snapshot,
  };
}

/**
 * A source whose every provider request first takes one unit from the budget shared by the cluster
 * (per provider and API key, the fetcher's own limits); a provider's rate_limited answer with a
 * Retry-After blocks the provider for every instance. Sources without limits pass through.
 *
 * A history call is split into the fetcher's own requests (its `maxRangeMsPerRequest` for the
 * timeframe), one unit taken before each; a fetcher that still sent more than one request for a
 * piece (it reports `requestsDone` through `onProgress`) has the extra ones recorded afterwards, so
 * the shared count is the requests actually made. `budget()` (what /health shows) is the shared
 * budget's remaining count, read with a peek at most once a second, or the fetcher's own until the
 * first answer.
 */
export function withSharedBudget(
  slot: SourceSlot,
  budget: SharedBudget,
  apiKey: string | undefined,
  log?: Logger,
  now: () => number = () => Date.now(),
): SourceSlot {
  const limits: SharedLimits = slot.fetcher.capabilities.rateLimits;
  if (!limits.perSecond && !limits.perMinute && !limits.perDay) return slot;
  const f = slot.fetcher;
  const gate = createBudgetGate(slot, budget, apiKey, limits, log, now);
  const { guarded } = gate;

  /** One history call as the fetcher's own requests, each paid for before it is sent. */
  async function history(req: FetchHistoryRequest): Promise<Bar[]> {
    const pieces = splitRange(req.from, req.to, f.capabilities.maxRangeMsPerRequest[req.timeframe]);
    if (pieces.length === 0) pieces.push({ from: req.from, to: req.to });
    const out: Bar[] = [];
    let done = 0;
    for (const piece of pieces) {
      let made = 0;
      const bars = await guarded(req.symbol, 'history', () =>
        f.fetchHistory({
          ...req,
          from: piece.from,
          to: piece.to,
          onProgress: (p) => {
            made = Math.max(made, p.requestsDone);
            req.onProgress?.({
              requestsDone: done + p.requestsDone,
              requestsPlanned: Math.max(pieces.length, done + p.requestsPlanned),
              bars: out.length + p.bars,
            });
          },
        }),
      );
      if (made > 1) await gate.spend(made - 1);
      done += Math.max(1, made);
      for (const b of bars) out.push(b);
    }
    return out;
  }

  // A batch endpoint free per symbol (Polygon's snapshot; pipeline/batcher.ts coalesces the cycle's
  // fetchLatest calls into one request per `maxSymbols`): the calls of one event-loop turn pay one
  // unit per batch they become, not one per symbol, and reach the fetcher in one turn again so they
  // still coalesce. A batch endpoint that costs per symbol (Twelve Data's credits) pays per symbol.
  const batch = isBatchFetcher(f) ? f.capabilities.batchLatest : undefined;
  const freeBatch = batch && batch.costPerSymbol === 0 ? batch : undefined;
  let turn: { req: FetchLatestRequest; resolve: (b: Bar[]) => void; reject: (e: unknown) => void }[] | null =
    null;
  async function payTurn(): Promise<void> {
    const group = turn ?? [];
    turn = null;
    if (!freeBatch || group.length === 0) return;
    const perTimeframe = new Map<string, number>();
    for (const g of group) perTimeframe.set(g.req.timeframe, (perTimeframe.get(g.req.timeframe) ?? 0) + 1);
    let units = 0;
    for (const n of perTimeframe.values()) units += Math.ceil(n / freeBatch.maxSymbols);
    try {
      await gate.take(group[0]?.req.symbol ?? '', 'poll', units);
    } catch (err) {
      for (const g of group) g.reject(err);
      return;
    }
    for (const g of group)
      f.fetchLatest(g.req).then(g.resolve, (err: unknown) => {
        void gate.shareProviderBlock(err);
        g.reject(err);
      });
  }
  function fetchLatest(req: FetchLatestRequest): Promise<Bar[]> {
    if (!freeBatch || !freeBatch.timeframes.includes(req.timeframe))
      return guarded(req.symbol, 'poll', () => f.fetchLatest(req));
    return new Promise<Bar[]>((resolve, reject) => {
      if (turn === null) {
        turn = [];
        setImmediate(() => void payTurn());
      }
      turn.push({ req, resolve, reject });
    });
  }

  const fetcher: Fetcher = {
    source: f.source,
    capabilities: f.capabilities,
    fetchLatest,
    fetchHistory: history,
    budget: gate.snapshot,
    close: () => f.close(),
  };
  if (isBatchFetcher(f)) {
    // Kept a batch fetcher (the request planner grants free batches one token per maxSymbols).
    const inner = f;
    const cost = inner.capabilities.batchLatest?.costPerSymbol ?? 1;
    const many: BatchFetcher['fetchLatestMany'] = (req) =>
      guarded(
        req.symbols[0] ?? '',
        'poll',
        () => inner.fetchLatestMany(req),
        cost === 0 ? 1 : Math.max(1, Math.ceil(req.symbols.length * cost)),
      );
    const batchFetcher: BatchFetcher = { ...fetcher, fetchLatestMany: many };
    return { name: slot.name, fetcher: batchFetcher };
  }
  return { name: slot.name, fetcher };
}

/**
 * The limits live polls plan with in cluster mode: the provider's, less the share kept for history
 * requests (minute and day windows; the request planner of each instance spreads these).
 */
export function pollLimits(limits: SharedLimits): SharedLimits {
  return {
    perSecond: limits.perSecond ?? null,
    perMinute: keepForHistory(limits.perMinute),
    perDay: keepForHistory(limits.perDay),
  };
}

/** [from, to) in pieces of at most `maxRangeMs` (the fetchers' own request ranges). */
function splitRange(
  from: number,
  to: number,
  maxRangeMs: number | undefined,
): { from: number; to: number }[] {
  if (!(to > from)) return [];
  if (maxRangeMs === undefined || !Number.isFinite(maxRangeMs) || maxRangeMs <= 0) return [{ from, to }];
  const out: { from: number; to: number }[] = [];
  for (let start = from; start < to; start += maxRangeMs)
    out.push({ from: start, to: Math.min(to, start + maxRangeMs) });
  return out;
}

/** Share of a minute's or day's budget kept for history requests. */
export const HISTORY_RESERVE = 0.2;

/** The part of `limit` live polls may spend: all but max(1, 20 %) of it (a limit of 1 stays 1). */
function keepForHistory(limit: number | null | undefined): number | null {
  if (!limit || limit <= 1) return limit ?? null;
  return limit - Math.max(1, Math.floor(limit * HISTORY_RESERVE));
}
