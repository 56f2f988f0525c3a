// Builds the real dependency set of a sidecar from its configuration: the only place that knows
// which library implements which port.
import { type Scheduler, systemClock } from '@pipeline/core';
import { createBreakerRegistry, type BreakerRegistry } from '@pipeline/breaker';
import { createMemoryHotCache, createRedisHotCache, type HotCache } from '@pipeline/redis-kb';
import { createSqliteHistoryStore, type SqliteHistoryStore } from '@pipeline/sqlite-store';
import { createPipelineMetrics, type PipelineMetrics } from '@pipeline/metrics';
import { createValidator, type Validator } from '@pipeline/validator';
import {
  createSymbolMapper,
  isUnknownSymbolError,
  loadSymbolMapFile,
  type SymbolMapper,
} from '@pipeline/symbol-mapper';
import { type SidecarConfig } from './config';
import {
  type BarCachePort,
  type BarStorePort,
  type BreakerPort,
  type MarketCalendar,
  type SymbolPort,
  type ValidatorPort,
} from '../ports';

const US_INDICES = new Set(['NAS100', 'US30', 'SPX500']);

/** The market calendar of a symbol, from its asset class in the symbol table (see MarketCalendar). */
export function marketCalendar(mapper: SymbolMapper, symbol: string): MarketCalendar {
  // An unknown symbol is 24x7 (below); asked first because instrument() throws for it with spelling
  // suggestions, an edit distance to every known symbol (~1 ms per symbol in the bootstrap's plan).
  if (!mapper.has(symbol)) return '24x7';
  let assetClass: string;
  try {
    assetClass = mapper.instrument(symbol).assetClass;
  } catch {
    return '24x7';
  }
  switch (assetClass) {
    case 'crypto':
      return '24x7';
    case 'stock':
      return 'us-equity';
    case 'index':
      return US_INDICES.has(symbol) ? 'us-equity' : 'fx';
    default:
      return 'fx';
  }
}

/** The symbol-mapper seen through the sidecar's port: unknown spellings are null, not exceptions. */
export function createSymbolPort(mapper: SymbolMapper, broker: string | undefined): SymbolPort {
  const calendars = new Map<string, MarketCalendar>();
  return {
    resolve(input) {
      try {
        return mapper.resolve(input);
      } catch (err) {
        if (isUnknownSymbolError(err)) return null;
        throw err;
      }
    },
    calendar(symbol) {
      // Asked several times per symbol per cycle (freshness, gaps); an unknown symbol makes the
      // mapper build an error with ranked suggestions (~0.6 ms), so the answer is kept per symbol.
      let cal = calendars.get(symbol);
      if (cal === undefined) {
        cal = marketCalendar(mapper, symbol);
        calendars.set(symbol, cal);
      }
      return cal;
    },
    toBroker(symbol) {
      if (!broker) return symbol;
      try {
        return mapper.toBroker(symbol, broker);
      } catch {
        return symbol;
      }
    },
    suggest: (input) => mapper.suggest(input),
  };
}

export function createMapperFromConfig(config: SidecarConfig): SymbolMapper {
  return createSymbolMapper({
    entries: config.symbolMapFile ? loadSymbolMapFile(config.symbolMapFile) : [],
    ...(config.broker ? { broker: config.broker } : {}),
  });
}

/**
 * Per-source breakers for a 1-second loop: no retries inside a call (the next source in the
 * fallback order is the retry) and a timeout shorter than the interval so a hung source cannot
 * hold a cycle much past its slot.
 */
export function createBreakerFromConfig(
  config: SidecarConfig,
  clock: Scheduler = systemClock,
): BreakerRegistry & BreakerPort {
  return createBreakerRegistry({
    clock,
    retry: { maxAttempts: 1 },
    // BREAKER_RESET_AFTER: the wait before an open circuit is probed (an empty answer counts too).
    breaker: { halfOpenAfterMs: config.breakerResetAfterMs },
    timeoutMs: Math.max(800, Math.min(5000, Math.round(config.collectionIntervalMs * 0.8))),
  });
}

/** The in-process cache when REDIS_URL and REDIS_CLUSTER_NODES are unset, else Redis. */
export function createCacheFromConfig(
  config: SidecarConfig,
  clock: Scheduler = systemClock,
): HotCache & BarCachePort {
  const common = { maxBars: config.maxBarsCache, featureTtlMs: config.featureCacheTtlMs, clock };
  const { redisUrl, redisClusterNodes } = config;
  if (!redisUrl && !redisClusterNodes) {
    // One series per symbol and timeframe the sidecar writes (the base timeframe, plus headroom for
    // resampled ones): below that every write would evict a series and /bars would miss the cache.
    const series = Math.max(1_000, config.symbols.length * 4);
    return createMemoryHotCache({
      ...common,
      maxSeries: series,
      maxSymbols: Math.max(10_000, config.symbols.length),
    });
  }
  return createRedisHotCache({
    ...common,
    keyPrefix: config.redisKeyPrefix,
    // REDIS_POOL_SIZE connections, each symbol pinned to one (a Cluster client keeps its own per node).
    ...(redisClusterNodes
      ? { clusterNodes: redisClusterNodes }
      : { redis: redisUrl, poolSize: config.redisPoolSize }),
  });
}

/** The SQLite history file, flushed every BATCH_WRITE_INTERVAL on a worker thread (inline for `:memory:`). */
export function createStoreFromConfig(
  config: SidecarConfig,
  clock: Scheduler = systemClock,
): SqliteHistoryStore & BarStorePort {
  const memory = config.sqlitePath === ':memory:';
  return createSqliteHistoryStore({
    path: config.sqlitePath,
    mode: memory ? 'inline' : 'worker',
    flushIntervalMs: config.batchWriteIntervalMs,
    scheduler: clock,
  });
}

/** The validator with the sidecar's staleness threshold and clock. */
export function createValidatorFromConfig(
  config: SidecarConfig,
  clock: Scheduler = systemClock,
): Validator & ValidatorPort {
  return createValidator({
    clock,
    rules: { stale: { staleAfterMs: config.staleAfterMs } },
    // One live series per symbol (headroom for more timeframes): beyond the default 10,000 every
    // validate() forgot the least recently used series and judged the bar against a blank state.
    maxSeries: Math.max(10_000, config.symbols.length * 4),
  });
}

/**
 * The pipeline metrics on a private registry (never prom-client's global one), with Node process
 * metrics, plus the validator's repairs and rejections counted by rule.
 */
export function createMetricsFromConfig(
  clock: Scheduler = systemClock,
  validator?: Validator,
  defaultMetrics = true,
): PipelineMetrics {
  const metrics = createPipelineMetrics({ clock, defaultMetrics });
  validator?.onIssue((e) => {
    if (e.status === 'rejected') metrics.barsRejected.inc({ rule: e.issue.rule });
    else if (e.status === 'repaired') metrics.barsRepaired.inc({ rule: e.issue.rule });
  });
  return metrics;
}
