// The hot cache over Redis: the shell that composes the connection pool (connection-pool.ts), the
// batching of commands (batching.ts) and the write path (bar-writes.ts) into the HotCache interface,
// plus the reads, features, signals and lifecycle. Options and client creation: redis-options.ts.
import { Emitter, type Bar, type Timeframe, resolveOptions } from '@pipeline/core';
import { type ChainableCommander, type Cluster } from 'ioredis';
import { createBarWriter } from './bar-writes';
import { createBatcher } from './batching';
import { decodeBar, decodeValue, encodeValue } from './codec';
import { createConnectionPool, isNoScript } from './connection-pool';
import { CacheClosedError, CacheDecodeError, CacheUnavailableError } from './errors';
import {
  type BarsRejectedEvent,
  type BarsWrittenEvent,
  type CacheHealth,
  type CacheStats,
  type CacheStatusChange,
  type HotCache,
  type SignalWrittenEvent,
} from './hot-cache';
import { createKeyLayout, type KeyLayout } from './keys';
import { RANGE_BARS_SCRIPT } from './lua';
import {
  REDIS_HOT_CACHE_DEFAULTS,
  createClient,
  isClient,
  validateRedisHotCacheOptions,
  type RedisClient,
  type RedisHotCacheOptions,
} from './redis-options';

export {
  REDIS_HOT_CACHE_DEFAULTS,
  MAX_POOL_SIZE,
  RECOMMENDED_CLIENT_OPTIONS,
  poolIndexOf,
  recommendedClientOptions,
  type RedisClient,
  type RedisHotCacheOptions,
} from './redis-options';

const NAME = 'RedisHotCache';

/** Connection state plus how many of the pool's connections are ready. */
export interface RedisCacheHealth extends CacheHealth {
  /**
   * `total` = `poolSize`; `ready` = connections serving commands. The cache's `status` is the worst
   * of them: `down` as soon as one is down (the symbols pinned to it fail), `ready` only when all are.
   */
  connections: { total: number; ready: number };
}

/** The Redis cache: a {@link HotCache} that also exposes its clients and key names (for followers and ops). */
export interface RedisHotCache<
  TFeatures = Record<string, unknown>,
  TSignal = Record<string, unknown>,
> extends HotCache<TFeatures, TSignal> {
  readonly kind: 'redis';
  /** The first (with `poolSize` 1 the only) client in use: yours if you passed one. Do not set ioredis' keyPrefix on it. */
  readonly client: RedisClient;
  /** Every connection of the pool, in pool order (`poolSize` entries). */
  readonly clients: readonly RedisClient[];
  readonly keys: KeyLayout;
  /** The connection a symbol is pinned to (all its reads, writes and fan-out entries go there). */
  clientFor(symbol: string): RedisClient;
  health(): RedisCacheHealth;
}

/**
 * The hot cache over Redis (standalone or Cluster). One list per series updated by a Lua script
 * taking many bars per call, pipelined across series; features with `SET PX`; signals with `SET`;
 * accepted bars and signals fanned out on capped streams. With `poolSize` > 1 every symbol is pinned
 * to one of several connections.
 */
export function createRedisHotCache<TFeatures = Record<string, unknown>, TSignal = Record<string, unknown>>(
  options?: Partial<RedisHotCacheOptions>,
): RedisHotCache<TFeatures, TSignal> {
  const opts = resolveOptions(NAME, REDIS_HOT_CACHE_DEFAULTS, options);
  validateRedisHotCacheOptions(opts);
  const { clock } = opts;
  const maxBars = Math.floor(opts.maxBars);
  const replaceWindow = Math.floor(opts.replaceWindow);
  const poolSize = opts.poolSize;
  const keys = createKeyLayout(opts.keyPrefix);
  const owned = !isClient(opts.redis);
  // The given client alone, or poolSize (validated >= 1) new ones.
  const client0 = isClient(opts.redis) ? opts.redis : createClient(opts);
  const clients: RedisClient[] = [
    client0,
    ...Array.from({ length: owned ? poolSize - 1 : 0 }, () => createClient(opts)),
  ];
  const cluster = client0.isCluster ? (client0 as Cluster) : null;

  const stats: CacheStats = {
    barsAppended: 0,
    barsReplaced: 0,
    barsRefused: 0,
    barsInvalid: 0,
    failedCalls: 0,
  };

  // Listener errors of the other events go to onError; a throwing onError listener is reported by
  // core's Emitter (one process warning), since there is nowhere else to send it.
  const errors = new Emitter<Error>('redis-kb onError');
  const reportError = (err: unknown) => errors.emit(err instanceof Error ? err : new Error(String(err)));
  const barsEvents = new Emitter<BarsWrittenEvent>('redis-kb onBars', reportError);
  const signalEvents = new Emitter<SignalWrittenEvent<TSignal>>('redis-kb onSignal', reportError);
  const rejectedEvents = new Emitter<BarsRejectedEvent>('redis-kb onRejected', reportError);
  const statusEvents = new Emitter<CacheStatusChange>('redis-kb onStatusChange', reportError);

  const pool = createConnectionPool({
    clients,
    clock,
    stats,
    onStatusChange: (change) => statusEvents.emit(change),
    reportError,
  });
  const { conns, connFor, check, guard } = pool;
  const batcher = createBatcher(pool, cluster);
  const { byConn, runBatched, replyOrThrow } = batcher;
  const writeBars = createBarWriter({
    pool,
    batcher,
    keys,
    maxBars,
    replaceWindow,
    fanout: opts.fanout,
    streamMaxLen: opts.streamMaxLen,
    stats,
    onWritten: (event) => barsEvents.emit(event),
    onRejected: (event) => rejectedEvents.emit(event),
    reportError,
  });

  const decodeAll = (
    op: string,
    key: string,
    bufs: Buffer[],
    symbol: string,
    timeframe: Timeframe,
  ): Bar[] => {
    const out = new Array<Bar>(bufs.length);
    try {
      let i = 0;
      for (const buf of bufs) out[i++] = decodeBar(buf, symbol, timeframe);
    } catch (err) {
      throw new CacheDecodeError(op, key, err);
    }
    return out;
  };

  const cache: RedisHotCache<TFeatures, TSignal> = {
    kind: 'redis',
    maxBars,
    client: client0,
    clients: Object.freeze([...clients]),
    keys,

    clientFor(symbol) {
      return connFor(symbol).client;
    },

    ready(timeoutMs = opts.connectTimeoutMs) {
      if (pool.isClosed) return Promise.reject(new CacheClosedError('ready'));
      if (conns.every((c) => c.client.status === 'ready')) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const sub = statusEvents.on((ch) => {
          if (ch.status !== 'ready') return;
          timer.cancel();
          sub.dispose();
          resolve();
        });
        const timer = clock.setTimeout(() => {
          sub.dispose();
          reject(
            new CacheUnavailableError(
              'ready',
              pool.current().status,
              pool.current().lastError ?? new Error(`not ready after ${timeoutMs} ms`),
            ),
          );
        }, timeoutMs);
      });
    },

    writeBars,

    async latestBars(symbol, timeframe, limit) {
      const op = 'latestBars';
      const n = Math.floor(limit);
      const key = keys.bars(symbol, timeframe);
      const bufs = await guard(op, symbol, async (client) => (n > 0 ? client.lrangeBuffer(key, -n, -1) : []));
      return decodeAll(op, key, bufs, symbol, timeframe);
    },

    async barsInRange(symbol, timeframe, from, to) {
      const op = 'barsInRange';
      const key = keys.bars(symbol, timeframe);
      const bufs = await guard(op, symbol, async (client) => {
        if (!(from < to)) return [];
        try {
          return (await client.callBuffer('EVALSHA', RANGE_BARS_SCRIPT.sha, 1, key, from, to)) as Buffer[];
        } catch (err) {
          if (!isNoScript(err)) throw err;
          return (await client.callBuffer('EVAL', RANGE_BARS_SCRIPT.source, 1, key, from, to)) as Buffer[];
        }
      });
      return decodeAll(op, key, bufs, symbol, timeframe);
    },

    async lastBar(symbol, timeframe) {
      const op = 'lastBar';
      const key = keys.bars(symbol, timeframe);
      const buf = await guard(op, symbol, (client) => client.lindexBuffer(key, -1));
      return buf ? (decodeAll(op, key, [buf], symbol, timeframe)[0] ?? null) : null;
    },

    seriesLength(symbol, timeframe) {
      return guard('seriesLength', symbol, (client) => client.llen(keys.bars(symbol, timeframe)));
    },

    async setFeatures(symbol, value) {
      const packed = encodeValue(value);
      await guard('setFeatures', symbol, (client) =>
        client.set(keys.features(symbol), packed, 'PX', opts.featureTtlMs),
      );
    },

    async getFeatures(symbol) {
      const key = keys.features(symbol);
      const buf = await guard('getFeatures', symbol, (client) => client.getBuffer(key));
      return buf ? decodeOrThrow<TFeatures>('getFeatures', key, buf) : null;
    },

    async setSignal(symbol, signal) {
      const op = 'setSignal';
      const c = connFor(symbol);
      check(op, [c]);
      const packed = encodeValue(signal);
      const commands = [
        { key: keys.signal(symbol), add: (p: ChainableCommander) => void p.set(keys.signal(symbol), packed) },
      ];
      if (opts.fanout) {
        // Same pipeline, same connection: a symbol's signal entries follow the order of its SETs.
        const stream = keys.stream('signals');
        commands.push({
          key: stream,
          add: (p) =>
            void p.xadd(stream, 'MAXLEN', '~', opts.streamMaxLen, '*', 'symbol', symbol, 'signal', packed),
        });
      }
      const replies = await runBatched(op, c, commands);
      replyOrThrow(op, c, replies[0]);
      if (replies[1]?.[0]) reportError(new CacheUnavailableError('setSignal/fanout', c.state, replies[1][0]));
      signalEvents.emit({ symbol, signal: decodeValue<TSignal>(packed) });
    },

    async getSignal(symbol) {
      const key = keys.signal(symbol);
      const buf = await guard('getSignal', symbol, (client) => client.getBuffer(key));
      return buf ? decodeOrThrow<TSignal>('getSignal', key, buf) : null;
    },

    async getSignals(symbols) {
      const op = 'getSignals';
      const groups = byConn(symbols, (s) => s);
      check(op, groups.keys());
      const out = new Map<string, TSignal>();
      if (symbols.length === 0) return out;
      const found = new Array<Buffer | null>(symbols.length);
      const failedBefore = stats.failedCalls;
      const settled = await Promise.allSettled(
        [...groups.entries()].map(async ([c, indexes]) => {
          // indexes come from symbols; the flatMap only lets the compiler see each one is defined.
          const wanted = indexes.flatMap((i) => {
            const symbol = symbols[i];
            return symbol === undefined ? [] : [{ i, key: keys.signal(symbol) }];
          });
          const replies = await runBatched(
            op,
            c,
            wanted.map(({ key }) => ({ key, add: (p: ChainableCommander) => void p.getBuffer(key) })),
          );
          wanted.forEach(({ i }, j) => (found[i] = replyOrThrow(op, c, replies[j]) as Buffer | null));
        }),
      );
      const lost = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (lost) {
        // One call that threw counts once, however many connections failed under it.
        stats.failedCalls = failedBefore + 1;
        throw lost.reason;
      }
      symbols.forEach((symbol, i) => {
        const buf = found[i];
        if (buf) out.set(symbol, decodeOrThrow<TSignal>(op, keys.signal(symbol), buf));
      });
      return out;
    },

    onBars: barsEvents.on,
    onSignal: signalEvents.on,
    onRejected: rejectedEvents.on,
    onStatusChange: statusEvents.on,
    onError: errors.on,

    health() {
      const health = pool.health();
      const ready = conns.filter((c) => c.state === 'ready').length;
      return { ...health, connections: { total: conns.length, ready } };
    },
    stats() {
      return { ...stats };
    },

    async close() {
      if (pool.isClosed) return;
      pool.close();
      for (const e of [barsEvents, signalEvents, rejectedEvents, statusEvents, errors]) e.clear();
      if (!owned) return;
      await Promise.all(
        conns.map(async ({ client }) => {
          // Swallow late connection errors of the client being torn down.
          client.on('error', () => undefined);
          if (client.status === 'ready') {
            try {
              await client.quit();
              return;
            } catch {
              // fall through to a hard disconnect
            }
          }
          client.disconnect();
        }),
      );
    },
  };
  return cache;
}

function decodeOrThrow<T>(op: string, key: string, buf: Buffer): T {
  try {
    return decodeValue<T>(buf);
  } catch (err) {
    throw new CacheDecodeError(op, key, err);
  }
}
