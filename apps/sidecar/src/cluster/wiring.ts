// Cluster mode from the configuration: the history store (PostgreSQL when HISTORY_URL is set), the
// coordinator on its own ioredis connection (same server and key prefix as the hot cache), and the
// provider budgets shared through Redis in front of every rate-limited fetcher.
import { FetchError, isFetchError, systemClock, type Fetcher, type Scheduler } from '@pipeline/core';
import { createPgStore } from '@pipeline/pg-store';
import { Cluster, Redis } from 'ioredis';
import { type BarStorePort, type SourceSlot } from '../ports';
import { type SidecarConfig } from '../wiring/config';
import { type Logger } from '../wiring/logger';
import { createClusterCoordinator } from './coordinator';
import { createSharedBudget, type SharedBudget, type SharedLimits } from './shared-budget';
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
        return { host, port: Number(port) };
      }),
    );
  }
  return new Redis(config.redisUrl!, {
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
      close: async () => {
        await coordinator.close();
        await redis.quit().catch(() => redis.disconnect());
      },
    },
    sources: sources.map((slot) => withSharedBudget(slot, budget, keyOf(slot.name), log)),
  };
}

/** The error a refused take() raises: the fallback order moves on to the next source this cycle. */
function budgetRefused(source: SourceSlot['name'], waitMs: number, symbol?: string): FetchError {
  return new FetchError({
    kind: 'rate_limited',
    source,
    ...(symbol ? { symbol } : {}),
    retryAfterMs: waitMs,
    message: `shared cluster rate budget spent; retry in ${waitMs} ms`,
  });
}

/**
 * A source whose every request first takes one unit from the budget shared by the cluster (per
 * provider and API key, the fetcher's own limits); a provider's rate_limited answer with a
 * Retry-After blocks the provider for every instance. Sources without limits pass through.
 */
export function withSharedBudget(
  slot: SourceSlot,
  budget: SharedBudget,
  apiKey: string | undefined,
  log?: Logger,
): SourceSlot {
  const limits: SharedLimits = slot.fetcher.capabilities.rateLimits;
  if (!limits.perSecond && !limits.perMinute && !limits.perDay) return slot;
  const f = slot.fetcher;
  // Live polls may spend only part of each minute's and day's budget; the rest is kept for history
  // requests (a takeover's backfill, gap repair), which otherwise lose every race against N
  // instances polling at full speed. One log in Redis counts both kinds.
  const pollLimits: SharedLimits = {
    perSecond: limits.perSecond ?? null,
    perMinute: keepForHistory(limits.perMinute),
    perDay: keepForHistory(limits.perDay),
  };
  async function guarded<T>(symbol: string, kind: 'poll' | 'history', run: () => Promise<T>): Promise<T> {
    let answer: Awaited<ReturnType<SharedBudget['take']>> | null = null;
    try {
      answer = await budget.take(slot.name, apiKey, kind === 'poll' ? pollLimits : limits);
    } catch (err) {
      // Redis unreachable: the fetcher's own in-process budget still applies (fail open, so a Redis
      // outage does not stop collection; N instances may then together exceed the shared limit).
      log?.debug('shared budget unavailable; in-process budget only', { source: slot.name, err });
    }
    if (answer && !answer.granted) throw budgetRefused(slot.name, answer.waitMs, symbol);
    try {
      return await run();
    } catch (err) {
      // The provider itself said wait (429, Retry-After, spent quota): every instance waits. A refusal
      // by this process's own budget is not the provider's word and is not shared.
      if (isFetchError(err) && err.kind === 'rate_limited' && !/local rate budget/.test(err.message)) {
        const ms = err.retryAfterMs;
        if (typeof ms === 'number' && ms > 0)
          await budget
            .block(slot.name, apiKey, ms)
            .catch((e: unknown) => log?.debug('shared budget block failed', { err: e }));
      }
      throw err;
    }
  }
  const fetcher: Fetcher = {
    source: f.source,
    capabilities: f.capabilities,
    fetchLatest: (req) => guarded(req.symbol, 'poll', () => f.fetchLatest(req)),
    fetchHistory: (req) => guarded(req.symbol, 'history', () => f.fetchHistory(req)),
    budget: () => f.budget(),
    close: () => f.close(),
  };
  return { name: slot.name, fetcher };
}

/** Share of a minute's or day's budget kept for history requests. */
export const HISTORY_RESERVE = 0.2;

/** The part of `limit` live polls may spend: all but max(1, 20 %) of it (a limit of 1 stays 1). */
function keepForHistory(limit: number | null | undefined): number | null {
  if (!limit || limit <= 1) return limit ?? null;
  return limit - Math.max(1, Math.floor(limit * HISTORY_RESERVE));
}
