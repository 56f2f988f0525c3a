// Options of the Redis cache, their validation, and the clients the cache creates from them (with the
// fail-fast settings that keep a dead Redis from stalling the host's loop).
import { type Scheduler, assertNumberOption, OptionsError, systemClock } from '@pipeline/core';
import calculateSlot from 'cluster-key-slot';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/** A Redis connection the cache can use: a standalone client or a cluster client. */
export type RedisClient = Redis | Cluster;

export interface RedisHotCacheOptions {
  /**
   * The client to use, or how to connect: a `redis://` / `rediss://` URL or ioredis `RedisOptions`.
   * A client passed in is used as is and not closed by `close()`; build it with
   * {@link RECOMMENDED_CLIENT_OPTIONS} so a dead Redis fails commands fast. It must not set ioredis'
   * own `keyPrefix` (use `keyPrefix` here: the fan-out consumers need the real key names).
   * @default 'redis://127.0.0.1:6379'
   */
  redis: RedisClient | string | RedisOptions;
  /**
   * Startup nodes (`host:port`) of a Redis Cluster; when non-empty the cache creates an ioredis
   * `Cluster` client from them (with the fail-fast options) and `redis` must not be a client.
   * @default []
   */
  clusterNodes: readonly string[];
  /**
   * Prefix of every key.
   * @default 'pipeline:'
   */
  keyPrefix: string;
  /**
   * Bars kept per (symbol, timeframe) (MAX_BARS_CACHE).
   * @default 5000
   */
  maxBars: number;
  /**
   * How many of the newest bars an older bar may replace (same ts); 0 refuses every older bar.
   * Costs one LRANGE of this many bars per out-of-order bar, inside the script.
   * @default 64
   */
  replaceWindow: number;
  /**
   * Lifetime of a feature set, milliseconds (FEATURE_CACHE_TTL; Redis `SET ... PX`).
   * @default 2000
   */
  featureTtlMs: number;
  /**
   * Publish accepted bars and stored signals to the fan-out streams (`<prefix>stream:bars`,
   * `<prefix>stream:signals`) for other processes.
   * @default true
   */
  fanout: boolean;
  /**
   * Approximate bound of each fan-out stream, entries (`XADD MAXLEN ~`).
   * @default 10000
   */
  streamMaxLen: number;
  /**
   * Command timeout of a client the cache creates, milliseconds (ioredis `commandTimeout`).
   * @default 1000
   */
  commandTimeoutMs: number;
  /**
   * Connect timeout of a client the cache creates, milliseconds; also the default of `ready()`.
   * @default 2000
   */
  connectTimeoutMs: number;
  /**
   * Cap of the reconnect backoff of a client the cache creates, milliseconds (50, 100, 200, ... up to this).
   * @default 2000
   */
  reconnectMaxDelayMs: number;
  /**
   * Command connections to a standalone Redis (REDIS_POOL_SIZE), 1 to {@link MAX_POOL_SIZE}, an integer.
   * Each symbol is pinned to one connection (CRC16 of the symbol, as Redis Cluster hashes it, modulo
   * the pool size), so writes of one series are never reordered and a multi-symbol call becomes one
   * pipeline per connection, sent concurrently. Values above 1 need the cache to create its clients
   * (`redis` a URL or `RedisOptions`, not a client) and a standalone Redis (a Cluster client already
   * holds one connection per master): otherwise `INVALID_OPTIONS`.
   * @default 1
   */
  poolSize: number;
  /**
   * Time source for health timestamps and the `ready()` timeout.
   * @default systemClock
   */
  clock: Scheduler;
}

export const REDIS_HOT_CACHE_DEFAULTS: Readonly<RedisHotCacheOptions> = Object.freeze({
  redis: 'redis://127.0.0.1:6379',
  clusterNodes: Object.freeze([]),
  keyPrefix: 'pipeline:',
  maxBars: 5000,
  replaceWindow: 64,
  featureTtlMs: 2000,
  fanout: true,
  streamMaxLen: 10_000,
  commandTimeoutMs: 1000,
  connectTimeoutMs: 2000,
  reconnectMaxDelayMs: 2000,
  poolSize: 1,
  clock: systemClock,
});

/** Largest `poolSize` accepted (the sidecar's REDIS_POOL_SIZE allows up to this many connections). */
export const MAX_POOL_SIZE = 64;

/**
 * Index of the pool connection a symbol is pinned to: CRC16 of the symbol (the Redis Cluster slot of
 * its keys, thanks to the hash tag) modulo `poolSize`. Stable across processes and restarts.
 */
export function poolIndexOf(symbol: string, poolSize: number): number {
  return poolSize <= 1 ? 0 : calculateSlot(symbol) % poolSize;
}

/**
 * The ioredis options that make a dead Redis fail fast instead of queueing: no offline queue, no
 * per-request retries, a bounded command and connect timeout, and a capped exponential reconnect.
 * The cache applies them to clients it creates; pass them when you build a client yourself.
 */
export function recommendedClientOptions(
  commandTimeoutMs = REDIS_HOT_CACHE_DEFAULTS.commandTimeoutMs,
  connectTimeoutMs = REDIS_HOT_CACHE_DEFAULTS.connectTimeoutMs,
  reconnectMaxDelayMs = REDIS_HOT_CACHE_DEFAULTS.reconnectMaxDelayMs,
): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: connectTimeoutMs,
    retryStrategy: (times: number) => Math.min(reconnectMaxDelayMs, 50 * 2 ** Math.min(times - 1, 16)),
  };
}

/** {@link recommendedClientOptions} with the defaults. */
export const RECOMMENDED_CLIENT_OPTIONS: Readonly<RedisOptions> = Object.freeze(recommendedClientOptions());

const NAME = 'RedisHotCache';

/** True for an ioredis client (standalone or Cluster), from any loaded copy of ioredis. */
export function isClient(value: unknown): value is RedisClient {
  return (
    value instanceof Redis ||
    value instanceof Cluster ||
    (typeof value === 'object' && value !== null && 'isCluster' in value && 'pipeline' in value)
  );
}

function parseNode(node: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(node);
  if (!m) throw new OptionsError(`${NAME}: cluster node must be "host:port", got ${JSON.stringify(node)}`);
  const [, host = '', port] = m; // both groups are mandatory
  return { host, port: Number(port) };
}

/** Checks what resolveOptions cannot: ranges, types, and the combinations of `redis`, `clusterNodes` and `poolSize`. */
export function validateRedisHotCacheOptions(opts: Readonly<RedisHotCacheOptions>): void {
  assertNumberOption(NAME, 'maxBars', opts.maxBars, 1, 10_000_000);
  assertNumberOption(NAME, 'replaceWindow', opts.replaceWindow, 0, 10_000);
  assertNumberOption(NAME, 'featureTtlMs', opts.featureTtlMs, 1);
  assertNumberOption(NAME, 'streamMaxLen', opts.streamMaxLen, 1);
  assertNumberOption(NAME, 'commandTimeoutMs', opts.commandTimeoutMs, 1);
  assertNumberOption(NAME, 'connectTimeoutMs', opts.connectTimeoutMs, 1);
  assertNumberOption(NAME, 'reconnectMaxDelayMs', opts.reconnectMaxDelayMs, 1);
  if (typeof opts.keyPrefix !== 'string' || /[{}]/.test(opts.keyPrefix)) {
    throw new OptionsError(
      `${NAME}: option "keyPrefix" must be a string without { or }, got ${JSON.stringify(opts.keyPrefix)}`,
    );
  }
  if (typeof opts.fanout !== 'boolean') {
    throw new OptionsError(`${NAME}: option "fanout" must be a boolean, got ${JSON.stringify(opts.fanout)}`);
  }
  if (!Array.isArray(opts.clusterNodes)) {
    throw new OptionsError(
      `${NAME}: option "clusterNodes" must be an array of "host:port", got ${JSON.stringify(opts.clusterNodes)}`,
    );
  }
  if (opts.clusterNodes.length > 0 && isClient(opts.redis)) {
    throw new OptionsError(`${NAME}: pass either a client in "redis" or "clusterNodes", not both`);
  }
  const r = opts.redis;
  if (!isClient(r) && typeof r !== 'string' && (typeof r !== 'object' || r === null)) {
    throw new OptionsError(
      `${NAME}: option "redis" must be a client, a URL or RedisOptions, got ${String(r)}`,
    );
  }
  if (isClient(r) && r.options && (r.options as RedisOptions).keyPrefix) {
    throw new OptionsError(
      `${NAME}: the client has ioredis keyPrefix ${JSON.stringify((r.options as RedisOptions).keyPrefix)}; use the "keyPrefix" option instead`,
    );
  }
  assertNumberOption(NAME, 'poolSize', opts.poolSize, 1, MAX_POOL_SIZE);
  if (!Number.isInteger(opts.poolSize)) {
    throw new OptionsError(
      `${NAME}: option "poolSize" must be an integer in [1, ${MAX_POOL_SIZE}], got ${JSON.stringify(opts.poolSize)}`,
    );
  }
  if (opts.poolSize > 1 && (opts.clusterNodes.length > 0 || (isClient(r) && r.isCluster))) {
    throw new OptionsError(
      `${NAME}: option "poolSize" must be 1 for a Redis Cluster (its client keeps one connection per master), got ${opts.poolSize}`,
    );
  }
  if (opts.poolSize > 1 && isClient(r)) {
    throw new OptionsError(
      `${NAME}: option "poolSize" ${opts.poolSize} needs the cache to open its own connections: pass a URL or RedisOptions in "redis", not a client`,
    );
  }
  if (typeof opts.clock?.now !== 'function' || typeof opts.clock.setTimeout !== 'function') {
    throw new OptionsError(
      `${NAME}: option "clock" must be a Scheduler (now, setTimeout), got ${typeof opts.clock}`,
    );
  }
}

/** A client with the fail-fast options, for one pool connection (or the Cluster client). */
export function createClient(opts: Readonly<RedisHotCacheOptions>): RedisClient {
  const failFast = recommendedClientOptions(
    opts.commandTimeoutMs,
    opts.connectTimeoutMs,
    opts.reconnectMaxDelayMs,
  );
  if (opts.clusterNodes.length > 0) {
    const clusterOptions: ClusterOptions = {
      enableOfflineQueue: false,
      clusterRetryStrategy: failFast.retryStrategy,
      redisOptions: { ...failFast, ...(typeof opts.redis === 'object' ? (opts.redis as RedisOptions) : {}) },
    };
    return new Cluster(opts.clusterNodes.map(parseNode), clusterOptions);
  }
  if (typeof opts.redis === 'string') return new Redis(opts.redis, failFast);
  return new Redis({ ...failFast, ...(opts.redis as RedisOptions) });
}
