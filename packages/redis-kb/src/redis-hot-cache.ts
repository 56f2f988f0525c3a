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
/** Bars per script call: bounds the argument list; atomicity is per call of this size. */
const MAX_BARS_PER_SCRIPT_CALL = 10_000;

function isClient(value: unknown): value is RedisClient {
  return (
    value instanceof Redis ||
    value instanceof Cluster ||
    (typeof value === 'object' && value !== null && 'isCluster' in value && 'pipeline' in value)
  );
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

function createClient(opts: Readonly<RedisHotCacheOptions>): RedisClient {
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

/** An error that is Redis refusing a command, as opposed to Redis being unreachable. */
function isReplyError(err: unknown): boolean {
  if (!(err instanceof Error) || err.name !== 'ReplyError') return false;
  return !/^(CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|READONLY)\b/.test(err.message);
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

type Reply = [Error | null, unknown];

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

/** One connection of the pool and the cache's view of it. */
interface Conn {
  readonly index: number;
  readonly client: RedisClient;
  state: CacheStatus;
  /**
   * Resolves when the previous `writeBars` on this connection has sent its fan-out XADD: stream
   * entries of one connection go out in the order their scripts were sent, even when one call needs a
   * NOSCRIPT retry or (on a Cluster) waits on a slower node.
   */
  fanoutTail: Promise<void>;
  readonly listeners: Array<[string, (err: Error) => void]>;
}

interface ScriptCall {
  key: string;
  args: Array<string | number | Buffer>;
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
  validate(opts);
  const { clock } = opts;
  const maxBars = Math.floor(opts.maxBars);
  const replaceWindow = Math.floor(opts.replaceWindow);
  const poolSize = opts.poolSize;
  const keys = createKeyLayout(opts.keyPrefix);
  const owned = !isClient(opts.redis);
  const clients: RedisClient[] = isClient(opts.redis)
    ? [opts.redis]
    : Array.from({ length: poolSize }, () => createClient(opts));
  const cluster = clients[0].isCluster ? (clients[0] as Cluster) : null;

  const stats: CacheStats = {
    barsAppended: 0,
    barsReplaced: 0,
    barsRefused: 0,
    barsInvalid: 0,
    failedCalls: 0,
  };
  let closed = false;

  const errors = new EventSource<Error>(() => undefined);
  const reportError = (err: unknown) => errors.emit(err instanceof Error ? err : new Error(String(err)));
  const barsEvents = new EventSource<BarsWrittenEvent>(reportError);
  const signalEvents = new EventSource<SignalWrittenEvent<TSignal>>(reportError);
  const rejectedEvents = new EventSource<BarsRejectedEvent>(reportError);
  const statusEvents = new EventSource<CacheStatusChange>(reportError);

  // --- connection state -------------------------------------------------------------------------
  const conns: Conn[] = clients.map((client, index) => ({
    index,
    client,
    state: client.status === 'ready' ? 'ready' : 'connecting',
    fanoutTail: Promise.resolve(),
    listeners: [],
  }));
  const connFor = (symbol: string): Conn => conns[poolIndexOf(symbol, conns.length)];
  /** Names the connection in messages only when there is more than one. */
  const which = (c: Conn) => (conns.length > 1 ? ` (pool connection ${c.index})` : '');

  let health: CacheHealth = { status: 'connecting', lastError: null, since: clock.now() };
  const worst = (): CacheStatus => {
    let connecting = false;
    for (const c of conns) {
      if (c.state === 'down') return 'down';
      if (c.state === 'connecting') connecting = true;
    }
    return connecting ? 'connecting' : 'ready';
  };
  health = { ...health, status: worst() };
  /** Publishes the pool's status: the worst connection's (see {@link RedisCacheHealth}). */
  const update = () => {
    const status = worst();
    if (status === health.status) return;
    const previous = health.status;
    health = { status, lastError: health.lastError, since: clock.now() };
    statusEvents.emit({ ...health, previous });
  };
  const setConn = (c: Conn, state: CacheStatus) => {
    c.state = state;
    update();
  };
  /**
   * Derives a connection's `down` from its client's state. ioredis changes `status` at once but emits
   * the event on a later tick, and a killed server can leave the socket unwritable while `status`
   * still says `ready`; so a failed command also marks the connection `down`. Only the client's
   * `ready` event or a command that succeeds brings `ready` back: no flapping between calls.
   */
  const sync = (c: Conn) => {
    const s = c.client.status;
    if (s === 'ready') {
      if (c.state === 'connecting') setConn(c, 'ready');
      return;
    }
    const lost = s !== 'wait' && s !== 'connecting' && s !== 'connect';
    if (!lost && c.state !== 'ready') return;
    // A killed server often closes the socket without an 'error' event: record why we are down.
    if (c.state === 'ready')
      health = { ...health, lastError: new Error(`connection to Redis lost (client ${s})${which(c)}`) };
    setConn(c, 'down');
  };
  const succeeded = (c: Conn) => {
    if (c.state !== 'ready' && c.client.status === 'ready') setConn(c, 'ready');
  };
  for (const c of conns) {
    c.listeners.push(
      ['ready', () => setConn(c, 'ready')],
      [
        'error',
        (err: Error) => {
          health = { ...health, lastError: err };
          reportError(err);
          if (c.state === 'connecting') setConn(c, 'down');
        },
      ],
      ['close', () => sync(c)],
      ['reconnecting', () => sync(c)],
      ['end', () => sync(c)],
    );
    for (const [event, fn] of c.listeners) c.client.on(event, fn);
  }

  /** Fails fast, before touching any socket, when the cache is closed or a needed connection is not ready. */
  const check = (op: string, needed: Iterable<Conn>) => {
    if (closed) throw new CacheClosedError(op);
    for (const c of needed) {
      sync(c);
      if (c.client.status !== 'ready') {
        stats.failedCalls++;
        throw new CacheUnavailableError(
          op,
          c.state,
          new Error(`client status is ${c.client.status}${which(c)}`),
        );
      }
    }
  };
  const fail = (op: string, c: Conn, err: unknown): never => {
    stats.failedCalls++;
    if (isRedisKbError(err)) throw err;
    if (err instanceof Error) health = { ...health, lastError: err };
    if (isReplyError(err)) throw new CacheCommandError(op, err);
    setConn(c, 'down');
    throw new CacheUnavailableError(op, c.state, err);
  };
  /** Runs one command on the symbol's connection: fails fast when not connected, maps errors to this package's family. */
  const guard = async <T>(
    op: string,
    symbol: string,
    command: (client: RedisClient) => Promise<T>,
  ): Promise<T> => {
    const c = connFor(symbol);
    check(op, [c]);
    let out: T;
    try {
      out = await command(c.client);
    } catch (err) {
      return fail(op, c, err);
    }
    succeeded(c);
    return out;
  };

  // --- batching ---------------------------------------------------------------------------------
  /** Indexes of `items` grouped by the connection their symbol is pinned to, in first-seen order. */
  const byConn = <T>(items: readonly T[], symbolOf: (item: T) => string): Map<Conn, number[]> => {
    const groups = new Map<Conn, number[]>();
    items.forEach((item, i) => {
      const c = connFor(symbolOf(item));
      const list = groups.get(c);
      if (list) list.push(i);
      else groups.set(c, [i]);
    });
    return groups;
  };

  /**
   * Runs commands on one connection as few pipelines as possible: one on a standalone Redis; on a
   * cluster one per node (ioredis sends a whole pipeline to one node, so keys of other nodes must not
   * share it). Every pipeline is handed to ioredis before the first `await`, so commands of one
   * connection reach Redis in call order.
   */
  const runBatched = async (
    op: string,
    c: Conn,
    commands: ReadonlyArray<{ key: string; add: (p: ChainableCommander) => void }>,
  ): Promise<Reply[]> => {
    const groups = new Map<string, number[]>();
    commands.forEach((cmd, i) => {
      let g = '';
      if (cluster) {
        const slot = calculateSlot(cmd.key);
        g = cluster.slots[slot]?.join(';') ?? `slot:${slot}`;
      }
      const list = groups.get(g);
      if (list) list.push(i);
      else groups.set(g, [i]);
    });
    const replies = new Array<Reply>(commands.length);
    const settled = await Promise.allSettled(
      [...groups.values()].map(async (indexes) => {
        const p = c.client.pipeline();
        for (const i of indexes) commands[i].add(p);
        const res = (await p.exec()) ?? [];
        indexes.forEach((i, j) => (replies[i] = res[j] ?? [new Error('no reply'), null]));
      }),
    );
    const lost = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (lost) fail(op, c, lost.reason);
    if (replies.every((r) => r[0] === null || isReplyError(r[0]) || isNoScript(r[0]))) succeeded(c);
    return replies;
  };

  /** Runs one script call per entry on one connection; any NOSCRIPT (fresh server, failover) is retried with EVAL. */
  const runScripts = async (
    op: string,
    c: Conn,
    script: LuaScript,
    calls: readonly ScriptCall[],
  ): Promise<Reply[]> => {
    const replies = await runBatched(
      op,
      c,
      calls.map((s) => ({ key: s.key, add: (p) => void p.evalsha(script.sha, 1, s.key, ...s.args) })),
    );
    const missing = replies.flatMap((r, i) => (isNoScript(r[0]) ? [i] : []));
    if (missing.length > 0) {
      const retried = await runBatched(
        op,
        c,
        missing.map((i) => ({
          key: calls[i].key,
          add: (p) => void p.eval(script.source, 1, calls[i].key, ...calls[i].args),
        })),
      );
      missing.forEach((i, j) => (replies[i] = retried[j]!));
    }
    return replies;
  };

  const replyOrThrow = (op: string, c: Conn, reply: Reply): unknown => {
    if (reply[0]) fail(op, c, reply[0]);
    return reply[1];
  };

  const decodeAll = (
    op: string,
    key: string,
    bufs: Buffer[],
    symbol: string,
    timeframe: Timeframe,
  ): Bar[] => {
    const out = new Array<Bar>(bufs.length);
    try {
      for (let i = 0; i < bufs.length; i++) out[i] = decodeBar(bufs[i], symbol, timeframe);
    } catch (err) {
      throw new CacheDecodeError(op, key, err);
    }
    return out;
  };

  /**
   * The share of one `writeBars` call that goes to one connection: its scripts in one pipeline (one
   * per node on a cluster), then, in this connection's turn, one XADD of the bars it accepted.
   */
  const writeOnConn = async (
    op: string,
    c: Conn,
    calls: ReadonlyArray<ScriptCall & { bars: Bar[] }>,
  ): Promise<{ replies: Reply[] }> => {
    if (!opts.fanout) return { replies: await runScripts(op, c, WRITE_BARS_SCRIPT, calls) };
    // Take the fan-out turn now, synchronously, in the order the scripts are handed to ioredis.
    const previous = c.fanoutTail;
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    // The next call's turn comes after ours and every earlier one, even if ours sends nothing.
    c.fanoutTail = previous.then(() => mine);
    try {
      const replies = await runScripts(op, c, WRITE_BARS_SCRIPT, calls);
      const accepted: Bar[] = [];
      replies.forEach((reply, i) => {
        if (reply[0]) return;
        const status = (reply[1] as [number, number, number, number, string])[4];
        const chunk = calls[i].bars;
        for (let j = 0; j < chunk.length; j++)
          if (status.charCodeAt(j) !== 120 /* x */) accepted.push(chunk[j]);
      });
      if (accepted.length === 0) return { replies };
      await previous;
      // ioredis writes the XADD to the socket synchronously, so releasing the turn right after keeps the order.
      const sent = c.client.xadd(
        keys.stream('bars'),
        'MAXLEN',
        '~',
        opts.streamMaxLen,
        '*',
        'bars',
        encodeFanoutBars(accepted),
      );
      release();
      try {
        await sent;
      } catch (err) {
        // The bars are stored; a lost fan-out entry must not fail the write. Followers resync from the lists.
        reportError(new CacheUnavailableError('writeBars/fanout', c.state, err));
      }
      return { replies };
    } finally {
      release();
    }
  };

  const cache: RedisHotCache<TFeatures, TSignal> = {
    kind: 'redis',
    maxBars,
    client: clients[0],
    clients: Object.freeze([...clients]),
    keys,

    clientFor(symbol) {
      return connFor(symbol).client;
    },

    ready(timeoutMs = opts.connectTimeoutMs) {
      if (closed) return Promise.reject(new CacheClosedError('ready'));
      if (conns.every((c) => c.client.status === 'ready')) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const sub = statusEvents.subscribe((ch) => {
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
              health.status,
              health.lastError ?? new Error(`not ready after ${timeoutMs} ms`),
            ),
          );
        }, timeoutMs);
      });
    },

    async writeBars(bars) {
      const op = 'writeBars';
      if (closed) throw new CacheClosedError(op);
      const plan = planWrite(bars);
      const calls: Array<ScriptCall & { symbol: string; bars: Bar[] }> = [];
      for (const s of plan.series) {
        const key = keys.bars(s.symbol, s.timeframe);
        for (let i = 0; i < s.bars.length; i += MAX_BARS_PER_SCRIPT_CALL) {
          const chunk = s.bars.slice(i, i + MAX_BARS_PER_SCRIPT_CALL);
          const args: Array<string | number | Buffer> = [maxBars, replaceWindow];
          for (const b of chunk) args.push(encodeBar(b));
          calls.push({ key, args, symbol: s.symbol, bars: chunk });
        }
      }
      const groups = byConn(calls, (call) => call.symbol);
      // All or nothing up front: one connection down fails the whole call before anything is sent.
      check(op, groups.size > 0 ? groups.keys() : conns);
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
        const failedBefore = stats.failedCalls;
        const entries = [...groups.entries()];
        const settled = await Promise.allSettled(
          entries.map(([c, indexes]) =>
            writeOnConn(
              op,
              c,
              indexes.map((i) => calls[i]),
            ),
          ),
        );
        // Count what did land before throwing: the other series (and connections) are committed.
        const replies = new Array<Reply | undefined>(calls.length);
        let firstError: { c: Conn; err: unknown } | null = null;
        settled.forEach((s, g) => {
          const [c, indexes] = entries[g];
          if (s.status === 'rejected') {
            firstError ??= { c, err: s.reason };
            return;
          }
          indexes.forEach((i, j) => (replies[i] = s.value.replies[j]));
        });
        replies.forEach((reply, i) => {
          if (!reply) return;
          if (reply[0]) {
            firstError ??= { c: connFor(calls[i].symbol), err: reply[0] };
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
          const { c, err } = firstError as { c: Conn; err: unknown };
          // One call that threw counts once, however many connections failed under it.
          stats.failedCalls = failedBefore;
          fail(op, c, err);
        }
      }
      stats.barsInvalid += result.invalid;
      if (accepted.length > 0) barsEvents.emit({ bars: accepted });
      if (refused.length > 0 || plan.invalid.length > 0)
        rejectedEvents.emit({ refused, invalid: plan.invalid });
      return result;
    },

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
      return buf ? decodeAll(op, key, [buf], symbol, timeframe)[0] : null;
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
          const replies = await runBatched(
            op,
            c,
            indexes.map((i) => ({
              key: keys.signal(symbols[i]),
              add: (p: ChainableCommander) => void p.getBuffer(keys.signal(symbols[i])),
            })),
          );
          indexes.forEach((i, j) => (found[i] = replyOrThrow(op, c, replies[j]) as Buffer | null));
        }),
      );
      const lost = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (lost) {
        // One call that threw counts once, however many connections failed under it.
        stats.failedCalls = failedBefore + 1;
        throw lost.reason;
      }
      found.forEach((buf, i) => {
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
      if (!closed) for (const c of conns) sync(c);
      const ready = conns.filter((c) => c.state === 'ready').length;
      return { ...health, connections: { total: conns.length, ready } };
    },
    stats() {
      return { ...stats };
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const c of conns) for (const [event, fn] of c.listeners) c.client.off(event, fn);
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
