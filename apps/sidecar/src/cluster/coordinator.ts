// Cluster mode's coordination: membership by heartbeat, one owner per symbol by a lease with a
// fencing token, balanced shares by rendezvous hashing. One `tick()` per collection cycle does all
// of it in one atomic Lua call on the cluster's hash slot (leases live with the heartbeat).
import { Emitter, type Clock, type Disposable } from '@pipeline/core';
import { type Cluster, type Redis } from 'ioredis';
import { desiredSymbols } from './assign';
import { createClusterEvents } from './events';
import { clusterKeys, type ClusterKeys } from './keys';
import { FENCE_SCRIPT, TICK_SCRIPT } from './scripts';

export interface ClusterCoordinatorOptions {
  /** ioredis client (single node or Cluster); not closed by the coordinator. */
  redis: Redis | Cluster;
  /** Key prefix shared with the hot cache. @default 'pipeline:' */
  prefix?: string;
  /** CLUSTER_NAME: instances with the same name share the work. */
  cluster: string;
  /** INSTANCE_ID: this process's name in the cluster (unique among live members). */
  instanceId: string;
  /** LEASE_TTL in ms: a lease not renewed for this long may be taken over. @default 5000 */
  leaseTtlMs?: number;
  /** The symbols the cluster collects (every instance is configured with the same list). */
  symbols: readonly string[];
  /**
   * Injected time for tests. Unset (production): the Lua scripts read Redis' TIME, one clock for
   * every instance, so machine clock skew cannot produce two owners.
   */
  clock?: Clock;
  /**
   * Prompt handover: publish a message on `<prefix>{cluster:<name>}:events` when this instance
   * joins or leaves, and subscribe to it (on `redis.duplicate()`, opened at the first tick, closed by
   * `leave()` / `close()`) to run an extra coordinator round at once when another member does, so a
   * graceful stop moves the leases within a Redis round trip instead of at the survivors' next
   * cycle. Plain (not sharded) pub/sub: on a Redis Cluster the message is broadcast to every node.
   * False: membership changes are seen at the next `tick()` only. @default true
   */
  events?: boolean;
  /** Called when an event-triggered round fails (Redis unreachable); the next cycle's tick retries. */
  onEventError?: (err: unknown) => void;
  /**
   * A round, fence check or lease read that has no answer after this long fails (ms). A client may
   * hold commands while Redis is unreachable (ioredis' Cluster client queues them until a node
   * answers): without a bound a cycle would wait for the whole outage. A round answered later than
   * a lease lives is useless anyway. @default leaseTtlMs
   */
  roundTimeoutMs?: number;
}

/** A symbol's lease as /cluster reports it. */
export interface LeaseInfo {
  symbol: string;
  owner: string | null;
  token: number;
  /** Epoch ms (Redis time); 0 when free. */
  expiresAt: number;
}

export interface MemberInfo {
  id: string;
  /** Heartbeat expiry, epoch ms. */
  expiresAt: number;
}

export interface ClusterCoordinator {
  readonly instanceId: string;
  /** LEASE_TTL in ms: a lease (and the heartbeat it lives with) not renewed for this long has lapsed. */
  readonly leaseTtlMs: number;
  /** Heartbeat, work out this instance's share, acquire/renew/release leases. Call once per cycle. */
  tick(): Promise<ReadonlyMap<string, number>>;
  /** Symbols this instance owns now, with their fencing tokens. */
  owned(): ReadonlyMap<string, number>;
  isOwner(symbol: string): boolean;
  /** Live members at the last tick. */
  members(): readonly MemberInfo[];
  /**
   * Of `symbols`, those whose lease (fencing token) is still this instance's: one O(1) call, since
   * leases live with the heartbeat. Check right before writing; a paused owner that lapsed gets none.
   */
  fence(symbols: readonly string[]): Promise<Set<string>>;
  /** Every symbol's lease (for GET /cluster). */
  leases(): Promise<LeaseInfo[]>;
  /** Symbols this instance just took over (backfill from history, warm indicators, then go live). */
  onAcquire(listener: (symbols: string[]) => void): Disposable;
  /** Symbols this instance lost or handed over (stop collecting them). */
  onRelease(listener: (symbols: string[]) => void): Disposable;
  /**
   * Graceful stop: release every lease and leave the member list so others take over at once (with
   * `events`, the others are told on the events channel and run a round immediately).
   */
  leave(): Promise<void>;
  /** Close the events subscription without leaving (leases lapse after LEASE_TTL). Idempotent. */
  close(): Promise<void>;
}

interface ScriptClient {
  pipelineTick(
    members: string,
    owners: string,
    fences: string,
    ...args: (string | number)[]
  ): Promise<string[]>;
  pipelineFence(members: string, me: string, now: string): Promise<number>;
  hgetall(key: string): Promise<Record<string, string>>;
  zrange(key: string, start: number, stop: number, withScores: 'WITHSCORES'): Promise<string[]>;
}

function defineScripts(redis: Redis | Cluster): ScriptClient {
  const r = redis as unknown as { pipelineTick?: unknown; defineCommand: Redis['defineCommand'] };
  if (!r.pipelineTick) {
    r.defineCommand('pipelineTick', { numberOfKeys: 3, lua: TICK_SCRIPT });
    r.defineCommand('pipelineFence', { numberOfKeys: 1, lua: FENCE_SCRIPT });
  }
  return redis as unknown as ScriptClient;
}

/** `p`, or a rejection naming `what` once `ms` have passed without an answer. */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`cluster ${what}: no answer from Redis within ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function pairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] ?? '', flat[i + 1] ?? '']);
  return out;
}

/** Checks the options; throws naming the bad value. */
function checkOptions(options: ClusterCoordinatorOptions, ttl: number): void {
  const me = options.instanceId;
  if (!options.cluster) throw new Error('createClusterCoordinator: "cluster" (CLUSTER_NAME) is required');
  if (!me || me.includes('|')) {
    throw new Error(
      `createClusterCoordinator: "instanceId" must be non-empty without "|", got ${JSON.stringify(me)}`,
    );
  }
  if (!Number.isInteger(ttl) || ttl < 500) {
    throw new Error(`createClusterCoordinator: "leaseTtlMs" must be an integer >= 500, got ${ttl}`);
  }
}

/** Every symbol's lease as /cluster shows it: owner live by its heartbeat at `t`, else free. */
async function readLeases(
  client: ScriptClient,
  keys: ClusterKeys,
  symbols: readonly string[],
  t: number,
): Promise<LeaseInfo[]> {
  const [owners, flat] = await Promise.all([
    client.hgetall(keys.owners),
    client.zrange(keys.members, 0, -1, 'WITHSCORES'),
  ]);
  const expiry = new Map(pairs(flat).map(([id, e]) => [id, Number(e)]));
  return symbols.map((symbol) => {
    const [owner, token] = (owners[symbol] ?? '').split('|');
    const expiresAt = owner ? (expiry.get(owner) ?? 0) : 0;
    const liveOwner = owner && expiresAt > t ? owner : null;
    return { symbol, owner: liveOwner, token: Number(token ?? 0) || 0, expiresAt: liveOwner ? expiresAt : 0 };
  });
}

interface Shares {
  signature: string;
  desired: string[];
  want: Set<string>;
}

/** The member set as a string: the ids sorted (Redis lists them by heartbeat expiry, which moves every round). */
function signatureOf(members: readonly MemberInfo[]): string {
  return members
    .map((m) => m.id)
    .sort()
    .join('\n');
}

/** The symbols `me` should own; recomputed only when the member set changes (hashing is the cost). */
function sharesFor(symbols: readonly string[], ids: string[], me: string, previous: Shares): Shares {
  const signature = [...ids].sort().join('\n');
  if (signature === previous.signature) return previous;
  const desired = desiredSymbols(symbols, ids, me);
  return { signature, desired, want: new Set(desired) };
}

/**
 * What a round must send: the held symbols no longer wanted, and the wanted ones not held yet. Leases
 * live with the heartbeat: while it has not lapsed nobody could take ours, so the held and wanted
 * ones need not be sent (a lapse, a pause longer than LEASE_TTL, re-checks them all).
 */
function changesFor(
  shares: Shares,
  owned: ReadonlyMap<string, number>,
): { release: string[]; missing: string[] } {
  const release: string[] = [];
  for (const s of owned.keys()) if (!shares.want.has(s)) release.push(s);
  return { release, missing: shares.desired.filter((s) => !owned.has(s)) };
}

/** The TICK script's round on Redis (bounded by `timeoutMs`), parsed. */
async function callRound(
  client: ScriptClient,
  keys: ClusterKeys,
  at: { me: string; ttl: number; now: string; timeoutMs: number },
  mode: 'tick' | 'leave',
  desired: readonly string[],
  release: readonly string[],
): Promise<ReturnType<typeof parseRound>> {
  const flat = await bounded(
    client.pipelineTick(
      keys.members,
      keys.owners,
      keys.fences,
      at.me,
      at.ttl,
      at.now,
      mode,
      desired.length,
      ...desired,
      ...release,
    ),
    at.timeoutMs,
    'round',
  );
  return parseRound(flat);
}

/** TICK_SCRIPT's answer: {wasLive, members flat..., '|', owned flat...}. */
function parseRound(flat: string[]): {
  wasLive: boolean;
  members: MemberInfo[];
  answered: [string, number][];
} {
  const bar = flat.indexOf('|');
  return {
    wasLive: Number(flat[0]) === 1,
    members: pairs(flat.slice(1, bar)).map(([id, e]) => ({ id, expiresAt: Number(e) })),
    answered: pairs(flat.slice(bar + 1)).map(([s, t]): [string, number] => [s, Number(t)]),
  };
}

export function createClusterCoordinator(options: ClusterCoordinatorOptions): ClusterCoordinator {
  const prefix = options.prefix ?? 'pipeline:';
  const ttl = options.leaseTtlMs ?? 5_000;
  const roundTimeout = options.roundTimeoutMs ?? ttl;
  const me = options.instanceId;
  checkOptions(options, ttl);
  const keys: ClusterKeys = clusterKeys(prefix, options.cluster);
  const events = options.events ?? true;
  const channel = createClusterEvents({
    redis: options.redis,
    channel: `${prefix}{cluster:${options.cluster}}:events`,
    me,
    onChange: () => onEvent(),
    onError: (err) => options.onEventError?.(err),
  });
  const client = defineScripts(options.redis);
  const symbols = [...new Set(options.symbols)];
  const now = (): string => (options.clock ? String(options.clock.now()) : '');
  let owned = new Map<string, number>();
  let members: MemberInfo[] = [];
  // A listener's failure must not stop coordination: the emitter reports it and goes on.
  const acquired = new Emitter<string[]>('cluster onAcquire');
  const released = new Emitter<string[]>('cluster onRelease');
  let closed = false;
  /** True while tick() re-runs itself after a membership change (once per tick at most). */
  let settling = false;
  let shares: Shares = { signature: '', desired: [], want: new Set() };

  /**
   * One atomic round: heartbeat (or leave), keep or take `desired`, release `release`. `full`: the
   * answer lists every lease held among `desired`; otherwise only those taken now are added to the
   * ones held. Returns whether the heartbeat had lapsed before this round.
   */
  async function round(
    mode: 'tick' | 'leave',
    desired: string[],
    release: string[],
    full: boolean,
  ): Promise<boolean> {
    const reply = await callRound(
      client,
      keys,
      { me, ttl, now: now(), timeoutMs: roundTimeout },
      mode,
      desired,
      release,
    );
    members = reply.members;
    const { answered, wasLive } = reply;
    if (full || mode === 'leave') {
      apply(new Map(answered));
    } else {
      const next = new Map(owned);
      for (const s of release) next.delete(s);
      for (const [s, t] of answered) next.set(s, t);
      apply(next);
    }
    return !wasLive;
  }

  function apply(next: Map<string, number>): void {
    const gained = [...next.keys()].filter((s) => !owned.has(s));
    const lost = [...owned.keys()].filter((s) => !next.has(s));
    owned = next;
    if (lost.length > 0) released.emit(lost);
    if (gained.length > 0) acquired.emit(gained);
  }

  /** The round in flight (the cycle's or an event's): rounds never overlap. */
  let inflight: Promise<unknown> = Promise.resolve();
  /** An event-triggered round is queued behind `inflight` (coalesces a burst of events). */
  let eventQueued = false;
  let joined = false;

  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = inflight.then(fn, fn);
    inflight = run.catch(() => undefined);
    return run;
  }

  async function tick(): Promise<ReadonlyMap<string, number>> {
    if (events && !channel.subscribed && !closed) channel.subscribe();
    const result = await serial(tickOnce);
    if (events && !joined && !closed) {
      joined = true;
      await channel.publish('join');
    }
    return result;
  }

  function onEvent(): void {
    if (closed || eventQueued) return;
    eventQueued = true;
    void serial(() => {
      eventQueued = false;
      return tickOnce();
    }).catch((err: unknown) => options.onEventError?.(err));
  }

  async function tickOnce(): Promise<ReadonlyMap<string, number>> {
    if (closed) return owned;
    // The member list of the previous round (plus me) decides the shares; the round itself
    // refreshes it, so a join or leave settles within two rounds.
    const ids = members.map((m) => m.id);
    if (members.length === 0) {
      await round('tick', [], [], true); // learn the members first (the round adds me)
      if (members.length === 0) throw new Error('cluster tick: the member list came back empty');
      return tickOnce();
    }
    shares = sharesFor(symbols, ids, me, shares);
    const { desired, signature } = shares;
    const { release, missing } = changesFor(shares, owned);
    const lapsed = await round('tick', missing, release, false);
    if (lapsed && owned.size > 0) await round('tick', desired, [], true);
    // The round showed a member joining or leaving: settle the new shares now rather than one
    // cycle later (a takeover then starts right after the lease expiry or the leave).
    // (Compared as sorted ids: the order Redis lists them in changes with every heartbeat, and an
    // order-sensitive check re-ran the round and the hashing on most ticks.)
    if (!settling && signatureOf(members) !== signature) {
      settling = true;
      try {
        return await tickOnce();
      } finally {
        settling = false;
      }
    }
    return owned;
  }

  return {
    instanceId: me,
    leaseTtlMs: ttl,
    tick,
    owned: () => owned,
    isOwner: (symbol) => owned.has(symbol),
    members: () => members,
    async fence(list) {
      const held = list.filter((s) => owned.has(s));
      if (held.length === 0) return new Set();
      const live = await bounded(client.pipelineFence(keys.members, me, now()), roundTimeout, 'fence');
      return live === 1 ? new Set(held) : new Set();
    },
    leases: () =>
      bounded(
        readLeases(client, keys, symbols, options.clock ? options.clock.now() : Date.now()),
        roundTimeout,
        'lease read',
      ),
    onAcquire: acquired.on,
    onRelease: released.on,
    async leave() {
      if (closed) return;
      closed = true;
      await channel.unsubscribe();
      await serial(() => round('leave', [], [...owned.keys()], true));
      if (events) await channel.publish('leave');
    },
    async close() {
      closed = true;
      await channel.unsubscribe();
    },
  };
}
