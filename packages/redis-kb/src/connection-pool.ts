// The cache's connections and its view of them: per-connection state derived from the ioredis
// client's events and from command outcomes, the pool's overall status (the worst connection's),
// symbol pinning, and the fail-fast guard every command goes through.
import { type Scheduler } from '@pipeline/core';
import { CacheClosedError, CacheCommandError, CacheUnavailableError, isRedisKbError } from './errors';
import { type CacheHealth, type CacheStats, type CacheStatus, type CacheStatusChange } from './hot-cache';
import { poolIndexOf, type RedisClient } from './redis-options';

/** An error that is Redis refusing a command, as opposed to Redis being unreachable. */
export function isReplyError(err: unknown): boolean {
  if (!(err instanceof Error) || err.name !== 'ReplyError') return false;
  return !/^(CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|READONLY)\b/.test(err.message);
}

export function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/** Connection state plus how many of the pool's connections are ready. */
export interface RedisCacheHealth extends CacheHealth {
  /**
   * `total` = `poolSize`; `ready` = connections serving commands. The cache's `status` is the worst
   * of them: `down` as soon as one is down (the symbols pinned to it fail), `ready` only when all are.
   */
  connections: { total: number; ready: number };
}

/** One connection of the pool and the cache's view of it. */
export interface Conn {
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

/** What the pool needs from the cache that owns it. */
export interface ConnectionPoolDeps {
  clients: readonly RedisClient[];
  clock: Pick<Scheduler, 'now'>;
  /** Counters shared with the cache (`failedCalls` is counted here). */
  stats: CacheStats;
  /** Called on every transition of the overall status. */
  onStatusChange(change: CacheStatusChange): void;
  /** Background errors (connection errors) for the cache's onError. */
  reportError: (err: unknown) => void;
}

export interface ConnectionPool {
  readonly conns: readonly Conn[];
  /** The connection a symbol is pinned to. */
  connFor: (symbol: string) => Conn;
  /** The overall health as last derived, without looking at the clients again. */
  current: () => CacheHealth;
  /** The overall health (worst connection), synced with the clients unless closed. */
  health: () => CacheHealth;
  /** Fails fast, before touching any socket, when the cache is closed or a needed connection is not ready. */
  check: (op: string, needed: Iterable<Conn>) => void;
  /** Maps a failed command to this package's errors (and marks the connection down when Redis is unreachable). */
  fail: (op: string, c: Conn, err: unknown) => never;
  /** Records a command that went through (a `down` connection whose client is ready again is `ready`). */
  succeeded: (c: Conn) => void;
  /** Runs one command on the symbol's connection through check/fail/succeeded. */
  guard: <T>(op: string, symbol: string, command: (client: RedisClient) => Promise<T>) => Promise<T>;
  readonly isClosed: boolean;
  /** Marks the pool closed and stops listening to the clients (it does not close them). */
  close: () => void;
}

export function createConnectionPool(deps: ConnectionPoolDeps): ConnectionPool {
  const { clients, clock, stats, reportError } = deps;
  let closed = false;
  const conns: Conn[] = clients.map((client, index) => ({
    index,
    client,
    state: client.status === 'ready' ? 'ready' : 'connecting',
    fanoutTail: Promise.resolve(),
    listeners: [],
  }));
  const conn0 = conns[0];
  if (conn0 === undefined) throw new Error('createConnectionPool: no clients');
  // poolIndexOf returns an index in 0..conns.length-1: the fallback is never taken.
  const connFor = (symbol: string): Conn => conns[poolIndexOf(symbol, conns.length)] ?? conn0;
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
    deps.onStatusChange({ ...health, previous });
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

  return {
    conns,
    connFor,
    current: () => health,
    health: () => {
      if (!closed) for (const c of conns) sync(c);
      return health;
    },
    check,
    fail,
    succeeded,
    guard,
    get isClosed() {
      return closed;
    },
    close() {
      closed = true;
      for (const c of conns) for (const [event, fn] of c.listeners) c.client.off(event, fn);
    },
  };
}
