// Cluster mode's coordination: membership by heartbeat, one owner per symbol by a lease with a
// fencing token, balanced shares by rendezvous hashing. One `tick()` per collection cycle does all
// of it in one Redis pipeline (one Lua call per symbol, each on the symbol's own hash slot).
import { type Clock, type Disposable } from '@pipeline/core';
import { type Cluster, type Redis } from 'ioredis';
import { desiredSymbols } from './assign';
import { clusterKeys, type ClusterKeys } from './keys';
import { FENCE_SCRIPT, LEASE_SCRIPT, MEMBERS_SCRIPT } from './scripts';

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
  /** Heartbeat, work out this instance's share, acquire/renew/release leases. Call once per cycle. */
  tick(): Promise<ReadonlyMap<string, number>>;
  /** Symbols this instance owns now, with their fencing tokens. */
  owned(): ReadonlyMap<string, number>;
  isOwner(symbol: string): boolean;
  /** Live members at the last tick. */
  members(): readonly MemberInfo[];
  /** Of `symbols`, those whose fencing token is still the newest (check right before writing). */
  fence(symbols: readonly string[]): Promise<Set<string>>;
  /** Every symbol's lease (for GET /cluster). */
  leases(): Promise<LeaseInfo[]>;
  /** Symbols this instance just took over (backfill from history, warm indicators, then go live). */
  onAcquire(listener: (symbols: string[]) => void): Disposable;
  /** Symbols this instance lost or handed over (stop collecting them). */
  onRelease(listener: (symbols: string[]) => void): Disposable;
  /** Graceful stop: release every lease and leave the member list so others take over at once. */
  leave(): Promise<void>;
}

type Reply = [number, number, number, string];

interface ScriptClient {
  pipeline(): {
    pipelineLease(lease: string, fence: string, me: string, ttl: number, mode: string, now: string): unknown;
    pipelineFence(lease: string, fence: string, token: number, now: string): unknown;
    exec(): Promise<[Error | null, unknown][] | null>;
  };
  pipelineMembers(key: string, me: string, ttl: number, now: string, mode: string): Promise<string[]>;
}

function defineScripts(redis: Redis | Cluster): ScriptClient {
  const r = redis as unknown as { pipelineLease?: unknown; defineCommand: Redis['defineCommand'] };
  if (!r.pipelineLease) {
    r.defineCommand('pipelineLease', { numberOfKeys: 2, lua: LEASE_SCRIPT });
    r.defineCommand('pipelineFence', { numberOfKeys: 2, lua: FENCE_SCRIPT });
    r.defineCommand('pipelineMembers', { numberOfKeys: 1, lua: MEMBERS_SCRIPT });
  }
  return redis as unknown as ScriptClient;
}

function listeners<T>(): { add(fn: (v: T) => void): Disposable; emit(v: T): void } {
  const set = new Set<(v: T) => void>();
  return {
    add(fn) {
      set.add(fn);
      return { dispose: () => void set.delete(fn) };
    },
    emit(v) {
      for (const fn of set) {
        try {
          fn(v);
        } catch {
          // a listener's failure must not stop coordination
        }
      }
    },
  };
}

export function createClusterCoordinator(options: ClusterCoordinatorOptions): ClusterCoordinator {
  const prefix = options.prefix ?? 'pipeline:';
  const ttl = options.leaseTtlMs ?? 5_000;
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
  const keys: ClusterKeys = clusterKeys(prefix, options.cluster);
  const client = defineScripts(options.redis);
  const symbols = [...new Set(options.symbols)];
  const now = (): string => (options.clock ? String(options.clock.now()) : '');
  let owned = new Map<string, number>();
  let members: MemberInfo[] = [];
  const acquired = listeners<string[]>();
  const released = listeners<string[]>();
  let closed = false;

  async function beat(mode: 'beat' | 'leave'): Promise<MemberInfo[]> {
    // Members live 2 lease periods: a missed heartbeat or two does not reshuffle the shares.
    const flat = await client.pipelineMembers(keys.members, me, ttl * 2, now(), mode);
    const out: MemberInfo[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: flat[i], expiresAt: Number(flat[i + 1]) });
    return out;
  }

  async function run(calls: { symbol: string; mode: string }[]): Promise<Map<string, Reply>> {
    const p = client.pipeline();
    const t = now();
    for (const c of calls) p.pipelineLease(keys.lease(c.symbol), keys.fence(c.symbol), me, ttl, c.mode, t);
    const res = (await p.exec()) ?? [];
    const out = new Map<string, Reply>();
    res.forEach(([err, value], i) => {
      if (!err) out.set(calls[i].symbol, value as Reply);
    });
    return out;
  }

  function apply(next: Map<string, number>): void {
    const gained = [...next.keys()].filter((s) => !owned.has(s));
    const lost = [...owned.keys()].filter((s) => !next.has(s));
    owned = next;
    if (lost.length > 0) released.emit(lost);
    if (gained.length > 0) acquired.emit(gained);
  }

  return {
    instanceId: me,
    async tick() {
      if (closed) return owned;
      members = await beat('beat');
      const desired = new Set(
        desiredSymbols(
          symbols,
          members.map((m) => m.id),
          me,
        ),
      );
      const calls: { symbol: string; mode: string }[] = [];
      for (const s of symbols) {
        if (desired.has(s)) calls.push({ symbol: s, mode: 'acquire' });
        else if (owned.has(s)) calls.push({ symbol: s, mode: 'release' });
      }
      const replies = await run(calls);
      const next = new Map<string, number>();
      for (const [symbol, [held, token]] of replies) if (held === 1) next.set(symbol, Number(token));
      apply(next);
      return owned;
    },
    owned: () => owned,
    isOwner: (symbol) => owned.has(symbol),
    members: () => members,
    async fence(list) {
      const p = client.pipeline();
      const t = now();
      const checked = list.filter((s) => owned.has(s));
      for (const s of checked) p.pipelineFence(keys.lease(s), keys.fence(s), owned.get(s) ?? 0, t);
      const res = (await p.exec()) ?? [];
      const ok = new Set<string>();
      res.forEach(([err, v], i) => {
        if (!err && Number(v) === 1) ok.add(checked[i]);
      });
      return ok;
    },
    async leases() {
      const p = client.pipeline();
      const t = now();
      // 'renew' by a name no member has reads the lease without changing it.
      for (const s of symbols) p.pipelineLease(keys.lease(s), keys.fence(s), '\u0000reader', ttl, 'renew', t);
      const res = (await p.exec()) ?? [];
      return res.map(([err, v], i) => {
        const [, token, expiresAt, owner] = (err ? [0, 0, 0, ''] : v) as Reply;
        return {
          symbol: symbols[i],
          owner: owner || null,
          token: Number(token),
          expiresAt: Number(expiresAt),
        };
      });
    },
    onAcquire: (fn) => acquired.add(fn),
    onRelease: (fn) => released.add(fn),
    async leave() {
      if (closed) return;
      closed = true;
      const held = [...owned.keys()];
      await run(held.map((symbol) => ({ symbol, mode: 'release' })));
      await beat('leave');
      apply(new Map());
    },
  };
}
