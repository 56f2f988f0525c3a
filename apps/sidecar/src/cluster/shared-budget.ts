// Provider request budgets shared by every instance (cluster mode): counted per provider API key in
// Redis by one atomic script, so N sidecars together never send more than the provider allows; a 429
// or Retry-After seen by one instance pauses that provider for all. The in-process budget of
// @pipeline/fetchers stays in front of it (it is never stricter than the shared one).
import { randomUUID } from 'node:crypto';
import { type Clock } from '@pipeline/core';
import { type Cluster, type Redis } from 'ioredis';
import { clusterKeys } from './keys';
import { BUDGET_SCRIPT } from './scripts';

/** A provider's limits; null or absent: no limit of that kind. */
export interface SharedLimits {
  perSecond?: number | null;
  perMinute?: number | null;
  perDay?: number | null;
}

export interface SharedBudgetAnswer {
  granted: boolean;
  /** Milliseconds until a request may be sent (0 when granted). */
  waitMs: number;
  secondLeft: number | null;
  minuteLeft: number | null;
  dayLeft: number | null;
  /** Epoch ms until which a provider block (429) holds, or null. */
  blockedUntil: number | null;
}

export interface SharedBudgetOptions {
  redis: Redis | Cluster;
  /** @default 'pipeline:' */
  prefix?: string;
  /**
   * Each window is widened by this much (a send counts for 1 s + margin and 60 s + margin), so clock
   * skew and request latency at a window's edge never let the provider count more than its limit.
   * @default 250
   */
  marginMs?: number;
  /** Injected time for tests; unset: Redis' TIME (one clock for all instances). */
  clock?: Clock;
}

export interface SharedBudget {
  /**
   * Spends `count` (default 1) requests of `provider` under `apiKey` if every window has room for all
   * of them (none is spent otherwise).
   */
  take(
    provider: string,
    apiKey: string | undefined,
    limits: SharedLimits,
    count?: number,
  ): Promise<SharedBudgetAnswer>;
  /**
   * Records `count` requests already sent (a history call the fetcher paged into more requests than
   * were taken), whatever the windows say: the other instances see them in the counts.
   */
  spend(
    provider: string,
    apiKey: string | undefined,
    limits: SharedLimits,
    count: number,
  ): Promise<SharedBudgetAnswer>;
  /** Reads without spending. */
  peek(provider: string, apiKey: string | undefined, limits: SharedLimits): Promise<SharedBudgetAnswer>;
  /** The provider asked us to wait (429 / Retry-After / spent quota): pause it for every instance. */
  block(provider: string, apiKey: string | undefined, ms: number): Promise<void>;
}

interface BudgetClient {
  pipelineBudget(log: string, day: string, block: string, ...args: (string | number)[]): Promise<number[]>;
}

export function createSharedBudget(options: SharedBudgetOptions): SharedBudget {
  const margin = options.marginMs ?? 250;
  if (!Number.isFinite(margin) || margin < 0 || margin > 10_000) {
    throw new Error(`createSharedBudget: "marginMs" must be 0..10000, got ${margin}`);
  }
  const keys = clusterKeys(options.prefix ?? 'pipeline:', '');
  const r = options.redis as unknown as { pipelineBudget?: unknown; defineCommand: Redis['defineCommand'] };
  if (!r.pipelineBudget) r.defineCommand('pipelineBudget', { numberOfKeys: 3, lua: BUDGET_SCRIPT });
  const client = options.redis as unknown as BudgetClient;
  const uid = randomUUID().slice(0, 8);
  let seq = 0;
  const lim = (n: number | null | undefined): number => (n && n > 0 ? n : 0);

  async function call(
    mode: 'take' | 'peek' | 'block' | 'spend',
    provider: string,
    apiKey: string | undefined,
    limits: SharedLimits,
    blockMs = 0,
    count = 1,
  ): Promise<SharedBudgetAnswer> {
    if (!Number.isInteger(count) || count < 1)
      throw new Error(`shared budget: "count" must be an integer >= 1, got ${count}`);
    const k = keys.budget(provider, apiKey);
    const now = options.clock ? String(options.clock.now()) : '';
    const [granted = 0, wait = 0, s = -1, m = -1, d = -1, blocked = 0] = await client.pipelineBudget(
      k.log,
      k.day,
      k.block,
      now,
      lim(limits.perSecond),
      lim(limits.perMinute),
      lim(limits.perDay),
      margin,
      mode,
      Math.max(0, Math.round(blockMs)),
      `${uid}:${++seq}`,
      count,
    );
    const left = (v: number): number | null => (v < 0 ? null : v);
    return {
      granted: granted === 1,
      waitMs: wait,
      secondLeft: left(s),
      minuteLeft: left(m),
      dayLeft: left(d),
      blockedUntil: blocked > 0 ? blocked : null,
    };
  }

  return {
    take: (p, key, limits, count = 1) => call('take', p, key, limits, 0, count),
    spend: (p, key, limits, count) => call('spend', p, key, limits, 0, count),
    peek: (p, key, limits) => call('peek', p, key, limits),
    async block(p, key, ms) {
      if (Number.isFinite(ms) && ms > 0) await call('block', p, key, {}, ms);
    },
  };
}
