import {
  type Bar,
  type Scheduler,
  type Timeframe,
  assertNumberOption,
  OptionsError,
  resolveOptions,
  systemClock,
} from '@pipeline/core';
import calculateSlot from 'cluster-key-slot';
import { type ChainableCommander, Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { decodeBar, decodeValue, encodeBar, encodeFanoutBars, encodeValue } from './codec';
import {
  CacheClosedError,
  CacheCommandError,
  CacheDecodeError,
  CacheUnavailableError,
  isRedisKbError,
} from './errors';
import { EventSource } from './events';
import {
  type BarsRejectedEvent,
  type BarsWrittenEvent,
  type CacheHealth,
  type CacheStats,
  type CacheStatus,
  type CacheStatusChange,
  type HotCache,
  type SignalWrittenEvent,
  type WriteBarsResult,
} from './hot-cache';
import { createKeyLayout, type KeyLayout } from './keys';
import { type LuaScript, RANGE_BARS_SCRIPT, WRITE_BARS_SCRIPT } from './lua';
import { planWrite } from './write-plan';

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
  clock: systemClock,
});

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
/** Bars per script call: bounds the argument list; atomicity is per call of this size. */
const MAX_BARS_PER_SCRIPT_CALL = 10_000;

function isClient(value: unknown): value is RedisClient {
  return value instanceof Redis || value instanceof Cluster || (typeof value === 'object' && value !== null && 'isCluster' in value && 'pipeline' in value);
}

function parseNode(node: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(node);
  if (!m) throw new OptionsError(`${NAME}: cluster node must be "host:port", got ${JSON.stringify(node)}`);
  return { host: m[1], port: Number(m[2]) };
}

function validate(opts: Readonly<RedisHotCacheOptions>): void {
  assertNumberOption(NAME, 'maxBars', opts.maxBars, 1, 10_000_000);
  assertNumberOption(NAME, 'replaceWindow', opts.replaceWindow, 0, 10_000);
  assertNumberOption(NAME, 'featureTtlMs', opts.featureTtlMs, 1);
  assertNumberOption(NAME, 'streamMaxLen', opts.streamMaxLen, 1);
  assertNumberOption(NAME, 'commandTimeoutMs', opts.commandTimeoutMs, 1);
  assertNumberOption(NAME, 'connectTimeoutMs', opts.connectTimeoutMs, 1);
  assertNumberOption(NAME, 'reconnectMaxDelayMs', opts.reconnectMaxDelayMs, 1);
  if (typeof opts.keyPrefix !== 'string' || /[{}]/.test(opts.keyPrefix)) {
    throw new OptionsError(`${NAME}: option "keyPrefix" must be a string without { or }, got ${JSON.stringify(opts.keyPrefix)}`);
  }
  if (typeof opts.fanout !== 'boolean') {
    throw new OptionsError(`${NAME}: option "fanout" must be a boolean, got ${JSON.stringify(opts.fanout)}`);
  }
  if (!Array.isArray(opts.clusterNodes)) {
    throw new OptionsError(`${NAME}: option "clusterNodes" must be an array of "host:port", got ${JSON.stringify(opts.clusterNodes)}`);
  }
  if (opts.clusterNodes.length > 0 && isClient(opts.redis)) {
    throw new OptionsError(`${NAME}: pass either a client in "redis" or "clusterNodes", not both`);
  }
  const r = opts.redis;
  if (!isClient(r) && typeof r !== 'string' && (typeof r !== 'object' || r === null)) {
    throw new OptionsError(`${NAME}: option "redis" must be a client, a URL or RedisOptions, got ${String(r)}`);
  }
  if (isClient(r) && r.options && (r.options as RedisOptions).keyPrefix) {
    throw new OptionsError(
      `${NAME}: the client has ioredis keyPrefix ${JSON.stringify((r.options as RedisOptions).keyPrefix)}; use the "keyPrefix" option instead`,
    );
  }
  if (typeof opts.clock?.now !== 'function' || typeof opts.clock.setTimeout !== 'function') {
    throw new OptionsError(`${NAME}: option "clock" must be a Scheduler (now, setTimeout), got ${typeof opts.clock}`);
  }
}

function createClient(opts: Readonly<RedisHotCacheOptions>): RedisClient {
  const failFast = recommendedClientOptions(opts.commandTimeoutMs, opts.connectTimeoutMs, opts.reconnectMaxDelayMs);
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

/** An error that is Redis refusing a command, as opposed to Redis being unreachable. */
function isReplyError(err: unknown): boolean {
  if (!(err instanceof Error) || err.name !== 'ReplyError') return false;
  return !/^(CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|READONLY)\b/.test(err.message);
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

type Reply = [Error | null, unknown];

/** The Redis cache: a {@link HotCache} that also exposes its client and key names (for followers and ops). */
export interface RedisHotCache<TFeatures = Record<string, unknown>, TSignal = Record<string, unknown>>
  extends HotCache<TFeatures, TSignal> {
  readonly kind: 'redis';
  /** The client in use (yours if you passed one). Do not set ioredis' keyPrefix on it. */
  readonly client: RedisClient;
  readonly keys: KeyLayout;
}

/**
 * The hot cache over Redis (standalone or Cluster). One list per series updated by a Lua script
 * taking many bars per call, pipelined across series; features with `SET PX`; signals with `SET`;
 * accepted bars and signals fanned out on capped streams.
 */
export function createRedisHotCache<TFeatures = Record<string, unknown>, TSignal = Record<string, unknown>>(
  options?: Partial<RedisHotCacheOptions>,
): RedisHotCache<TFeatures, TSignal> {
  const opts = resolveOptions(NAME, REDIS_HOT_CACHE_DEFAULTS, options);
  validate(opts);
  const { clock } = opts;
  const maxBars = Math.floor(opts.maxBars);
  const replaceWindow = Math.floor(opts.replaceWindow);
  const keys = createKeyLayout(opts.keyPrefix);
  const owned = !isClient(opts.redis);
  const client: RedisClient = isClient(opts.redis) ? opts.redis : createClient(opts);
  const cluster = client.isCluster ? (client as Cluster) : null;

  const stats: CacheStats = { barsAppended: 0, barsReplaced: 0, barsRefused: 0, barsInvalid: 0, failedCalls: 0 };
  let closed = false;

  const errors = new EventSource<Error>(() => undefined);
  const reportError = (err: unknown) => errors.emit(err instanceof Error ? err : new Error(String(err)));
  const barsEvents = new EventSource<BarsWrittenEvent>(reportError);
  const signalEvents = new EventSource<SignalWrittenEvent<TSignal>>(reportError);
  const rejectedEvents = new EventSource<BarsRejectedEvent>(reportError);
  const statusEvents = new EventSource<CacheStatusChange>(reportError);

  // --- connection state -------------------------------------------------------------------------
  let health: CacheHealth = {
    status: client.status === 'ready' ? 'ready' : 'connecting',
    lastError: null,
    since: clock.now(),
  };
  const setStatus = (status: CacheStatus) => {
    if (status === health.status) return;
    const previous = health.status;
    health = { status, lastError: health.lastError, since: clock.now() };
    statusEvents.emit({ ...health, previous });
  };
  /**
   * Derives `down` from the client's state. ioredis changes `status` at once but emits the event on
   * a later tick, and a killed server can leave the socket unwritable while `status` still says
   * `ready`; so a failed command also marks us `down`. Only the client's `ready` event or a command
   * that succeeds brings `ready` back: no flapping between a failed call and the next one.
   */
  const sync = () => {
    const s = client.status;
    if (s === 'ready') {
      if (health.status === 'connecting') setStatus('ready');
      return;
    }
    const lost = s !== 'wait' && s !== 'connecting' && s !== 'connect';
    if (!lost && health.status !== 'ready') return;
    // A killed server often closes the socket without an 'error' event: record why we are down.
    if (health.status === 'ready') health = { ...health, lastError: new Error(`connection to Redis lost (client ${s})`) };
    setStatus('down');
  };
  const succeeded = () => {
    if (health.status !== 'ready' && client.status === 'ready') setStatus('ready');
  };
  const clientListeners: Array<[string, (err: Error) => void]> = [
    ['ready', () => setStatus('ready')],
    [
      'error',
      (err: Error) => {
        health = { ...health, lastError: err };
        reportError(err);
        if (health.status === 'connecting') setStatus('down');
      },
    ],
    ['close', sync],
    ['reconnecting', sync],
    ['end', sync],
  ];
  for (const [event, fn] of clientListeners) client.on(event, fn);

  const check = (op: string) => {
    if (closed) throw new CacheClosedError(op);
    sync();
    if (client.status !== 'ready') {
      stats.failedCalls++;
      throw new CacheUnavailableError(op, health.status, new Error(`client status is ${client.status}`));
    }
  };
  const fail = (op: string, err: unknown): never => {
    stats.failedCalls++;
    if (isRedisKbError(err)) throw err;
    if (err instanceof Error) health = { ...health, lastError: err };
    if (isReplyError(err)) throw new CacheCommandError(op, err);
    setStatus('down');
    throw new CacheUnavailableError(op, health.status, err);
  };
  /** Runs one command: fails fast when not connected, maps errors to this package's family. */
  const guard = async <T>(op: string, command: () => Promise<T>): Promise<T> => {
    check(op);
    let out: T;
    try {
      out = await command();
    } catch (err) {
      return fail(op, err);
    }
    succeeded();
    return out;
  };

  // --- batching ---------------------------------------------------------------------------------
  /**
   * Runs commands as few pipelines as possible: one on a standalone Redis; on a cluster one per
   * node (ioredis sends a whole pipeline to one node, so keys of other nodes must not share it).
   */
  const runBatched = async (
    op: string,
    commands: ReadonlyArray<{ key: string; add: (p: ChainableCommander) => void }>,
  ): Promise<Reply[]> => {
    const groups = new Map<string, number[]>();
    commands.forEach((c, i) => {
      let g = '';
      if (cluster) {
        const slot = calculateSlot(c.key);
        g = cluster.slots[slot]?.join(';') ?? `slot:${slot}`;
      }
      const list = groups.get(g);
      if (list) list.push(i);
      else groups.set(g, [i]);
    });
    const replies = new Array<Reply>(commands.length);
    try {
      await Promise.all(
        [...groups.values()].map(async (indexes) => {
          const p = client.pipeline();
          for (const i of indexes) commands[i].add(p);
          const res = (await p.exec()) ?? [];
          indexes.forEach((i, j) => (replies[i] = (res[j]) ?? [new Error('no reply'), null]));
        }),
      );
    } catch (err) {
      fail(op, err);
    }
    if (replies.every((r) => r[0] === null || isReplyError(r[0]) || isNoScript(r[0]))) succeeded();
    return replies;
  };

  /** Runs one script call per command; any NOSCRIPT (fresh server, failover) is retried with EVAL. */
  const runScripts = async (
    op: string,
    script: LuaScript,
    calls: ReadonlyArray<{ key: string; args: Array<string | number | Buffer> }>,
  ): Promise<Reply[]> => {
    const replies = await runBatched(
      op,
      calls.map((c) => ({ key: c.key, add: (p) => void p.evalsha(script.sha, 1, c.key, ...c.args) })),
    );
    const missing = replies.flatMap((r, i) => (isNoScript(r[0]) ? [i] : []));
    if (missing.length > 0) {
      const retried = await runBatched(
        op,
        missing.map((i) => ({ key: calls[i].key, add: (p) => void p.eval(script.source, 1, calls[i].key, ...calls[i].args) })),
      );
      missing.forEach((i, j) => (replies[i] = retried[j]!));
    }
    return replies;
  };

  const replyOrThrow = (op: string, reply: Reply): unknown => {
    if (reply[0]) fail(op, reply[0]);
    return reply[1];
  };

  const decodeAll = (op: string, key: string, bufs: Buffer[], symbol: string, timeframe: Timeframe): Bar[] => {
    const out = new Array<Bar>(bufs.length);
    try {
      for (let i = 0; i < bufs.length; i++) out[i] = decodeBar(bufs[i], symbol, timeframe);
    } catch (err) {
      throw new CacheDecodeError(op, key, err);
    }
    return out;
  };

  const cache: RedisHotCache<TFeatures, TSignal> = {
    kind: 'redis',
    maxBars,
    client,
    keys,

    ready(timeoutMs = opts.connectTimeoutMs) {
      if (closed) return Promise.reject(new CacheClosedError('ready'));
      if (client.status === 'ready') return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const sub = statusEvents.subscribe((c) => {
          if (c.status !== 'ready') return;
          timer.cancel();
          sub.dispose();
          resolve();
        });
        const timer = clock.setTimeout(() => {
          sub.dispose();
          reject(new CacheUnavailableError('ready', health.status, health.lastError ?? new Error(`not ready after ${timeoutMs} ms`)));
        }, timeoutMs);
      });
    },

    async writeBars(bars) {
      const op = 'writeBars';
      check(op);
      const plan = planWrite(bars);
      const calls: Array<{ key: string; args: Array<string | number | Buffer>; bars: Bar[] }> = [];
      for (const s of plan.series) {
        const key = keys.bars(s.symbol, s.timeframe);
        for (let i = 0; i < s.bars.length; i += MAX_BARS_PER_SCRIPT_CALL) {
          const chunk = s.bars.slice(i, i + MAX_BARS_PER_SCRIPT_CALL);
          const args: Array<string | number | Buffer> = [maxBars, replaceWindow];
          for (const b of chunk) args.push(encodeBar(b));
          calls.push({ key, args, bars: chunk });
        }
      }
      const result: WriteBarsResult = {
        appended: 0,
        replaced: 0,
        refused: 0,
        invalid: plan.invalid.length,
        series: plan.series.length,
      };
      const accepted: Bar[] = [];
      const refused: Bar[] = [];
      if (calls.length > 0) {
        const replies = await runScripts(op, WRITE_BARS_SCRIPT, calls);
        // Count what did land before throwing on a failed call: the others are committed.
        let firstError: unknown = null;
        replies.forEach((reply, i) => {
          if (reply[0]) {
            firstError ??= reply[0];
            return;
          }
          const [a, r, x, , status] = reply[1] as [number, number, number, number, string];
          result.appended += a;
          result.replaced += r;
          result.refused += x;
          const chunk = calls[i].bars;
          for (let j = 0; j < chunk.length; j++) {
            if (status.charCodeAt(j) === 120 /* x */) refused.push(chunk[j]);
            else accepted.push(chunk[j]);
          }
        });
        stats.barsAppended += result.appended;
        stats.barsReplaced += result.replaced;
        stats.barsRefused += result.refused;
        if (firstError) {
          stats.barsInvalid += result.invalid;
          fail(op, firstError);
        }
      }
      stats.barsInvalid += result.invalid;
      if (accepted.length > 0) {
        if (opts.fanout) {
          try {
            await client.xadd(keys.stream('bars'), 'MAXLEN', '~', opts.streamMaxLen, '*', 'bars', encodeFanoutBars(accepted));
          } catch (err) {
            // The bars are stored; a lost fan-out entry must not fail the write. Followers resync from the lists.
            reportError(new CacheUnavailableError('writeBars/fanout', health.status, err));
          }
        }
        barsEvents.emit({ bars: accepted });
      }
      if (refused.length > 0 || plan.invalid.length > 0) rejectedEvents.emit({ refused, invalid: plan.invalid });
      return result;
    },

    async latestBars(symbol, timeframe, limit) {
      const op = 'latestBars';
      const n = Math.floor(limit);
      const key = keys.bars(symbol, timeframe);
      const bufs = await guard(op, async () => (n > 0 ? client.lrangeBuffer(key, -n, -1) : []));
      return decodeAll(op, key, bufs, symbol, timeframe);
    },

    async barsInRange(symbol, timeframe, from, to) {
      const op = 'barsInRange';
      const key = keys.bars(symbol, timeframe);
      const bufs = await guard(op, async () => {
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
      const buf = await guard(op, () => client.lindexBuffer(key, -1));
      return buf ? decodeAll(op, key, [buf], symbol, timeframe)[0] : null;
    },

    seriesLength(symbol, timeframe) {
      return guard('seriesLength', () => client.llen(keys.bars(symbol, timeframe)));
    },

    async setFeatures(symbol, value) {
      const packed = encodeValue(value);
      await guard('setFeatures', () => client.set(keys.features(symbol), packed, 'PX', opts.featureTtlMs));
    },

    async getFeatures(symbol) {
      const key = keys.features(symbol);
      const buf = await guard('getFeatures', () => client.getBuffer(key));
      return buf ? decodeOrThrow<TFeatures>('getFeatures', key, buf) : null;
    },

    async setSignal(symbol, signal) {
      const op = 'setSignal';
      check(op);
      const packed = encodeValue(signal);
      const commands = [{ key: keys.signal(symbol), add: (p: ChainableCommander) => void p.set(keys.signal(symbol), packed) }];
      if (opts.fanout) {
        const stream = keys.stream('signals');
        commands.push({
          key: stream,
          add: (p) => void p.xadd(stream, 'MAXLEN', '~', opts.streamMaxLen, '*', 'symbol', symbol, 'signal', packed),
        });
      }
      const replies = await runBatched(op, commands);
      replyOrThrow(op, replies[0]);
      if (replies[1]?.[0]) reportError(new CacheUnavailableError('setSignal/fanout', health.status, replies[1][0]));
      signalEvents.emit({ symbol, signal: decodeValue<TSignal>(packed) });
    },

    async getSignal(symbol) {
      const key = keys.signal(symbol);
      const buf = await guard('getSignal', () => client.getBuffer(key));
      return buf ? decodeOrThrow<TSignal>('getSignal', key, buf) : null;
    },

    async getSignals(symbols) {
      const op = 'getSignals';
      check(op);
      const out = new Map<string, TSignal>();
      if (symbols.length === 0) return out;
      const replies = await runBatched(
        op,
        symbols.map((s) => ({ key: keys.signal(s), add: (p: ChainableCommander) => void p.getBuffer(keys.signal(s)) })),
      );
      replies.forEach((reply, i) => {
        const buf = replyOrThrow(op, reply) as Buffer | null;
        if (buf) out.set(symbols[i], decodeOrThrow<TSignal>(op, keys.signal(symbols[i]), buf));
      });
      return out;
    },

    onBars: barsEvents.subscribe,
    onSignal: signalEvents.subscribe,
    onRejected: rejectedEvents.subscribe,
    onStatusChange: statusEvents.subscribe,
    onError: errors.subscribe,

    health() {
      if (!closed) sync();
      return { ...health };
    },
    stats() {
      return { ...stats };
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const [event, fn] of clientListeners) client.off(event, fn);
      for (const e of [barsEvents, signalEvents, rejectedEvents, statusEvents, errors]) e.clear();
      if (!owned) return;
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
