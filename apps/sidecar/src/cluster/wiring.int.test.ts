// withSharedBudget against the real Redis: a source's requests draw from the budget shared by the
// cluster (polls up to 80 % of it, history the rest), a refusal is a rate_limited FetchError the
// fallback order understands, and a provider's 429 with Retry-After pauses the source for every
// instance. The provider here is a stand-in fetcher counting what reaches it.
import {
  FetchError,
  ManualClock,
  isFetchError,
  type Bar,
  type Fetcher,
  type SourceCapabilities,
} from '@pipeline/core';
import { deleteRedisPrefix, TEST_REDIS_URL, uniqueRedisPrefix } from '@pipeline/test-utils';
import { Redis } from 'ioredis';
import { createSharedBudget } from './shared-budget';
import { withSharedBudget } from './wiring';

let redis: Redis;
let prefix: string;
let clock: ManualClock;
beforeEach(() => {
  redis = new Redis(TEST_REDIS_URL);
  prefix = uniqueRedisPrefix('cluster-wiring');
  clock = new ManualClock(Date.UTC(2026, 0, 5, 12, 0, 0));
});
afterEach(async () => {
  await deleteRedisPrefix(redis, prefix);
  redis.disconnect();
});

function provider(perMinute: number, answer: () => Promise<Bar[]> = async () => []) {
  const sent: string[] = [];
  const capabilities = {
    source: 'twelvedata',
    timeframes: ['1m'],
    historyDepthMs: {},
    maxRangeMsPerRequest: {},
    needsApiKey: true,
    rateLimits: { perSecond: null, perMinute, perDay: null },
    streaming: false,
  } as SourceCapabilities;
  const fetcher: Fetcher = {
    source: 'twelvedata',
    capabilities,
    fetchLatest: async (r) => {
      sent.push(`latest ${r.symbol}`);
      return answer();
    },
    fetchHistory: async (r) => {
      sent.push(`history ${r.symbol}`);
      return answer();
    },
    budget: () => ({ perMinuteLeft: null, perDayLeft: null, dayResetsAt: null, blockedUntil: null }),
    close: async () => undefined,
  };
  return { fetcher, sent };
}

const latest = { symbol: 'EURUSD', timeframe: '1m', limit: 3 } as const;

describe('withSharedBudget', () => {
  it('three instances together send at most the limit; polls leave 20 % for history', async () => {
    const budget = createSharedBudget({ redis, prefix, clock });
    const instances = [1, 2, 3].map(() => {
      const p = provider(10);
      return { ...p, slot: withSharedBudget({ name: 'twelvedata', fetcher: p.fetcher }, budget, 'KEY') };
    });
    const refusals: unknown[] = [];
    for (let i = 0; i < 30; i++) {
      await instances[i % 3].slot.fetcher.fetchLatest(latest).catch((e: unknown) => refusals.push(e));
    }
    const polls = instances.reduce((n, i) => n + i.sent.length, 0);
    expect(polls).toBe(8); // 10 a minute, 2 kept for history
    expect(refusals).toHaveLength(22);
    expect(isFetchError(refusals[0]) && refusals[0].kind).toBe('rate_limited');
    const h = { symbol: 'EURUSD', timeframe: '1m', from: 0, to: 60_000 } as const;
    await instances[0].slot.fetcher.fetchHistory(h);
    await instances[1].slot.fetcher.fetchHistory(h);
    await expect(instances[2].slot.fetcher.fetchHistory(h)).rejects.toMatchObject({ kind: 'rate_limited' });
    expect(instances.reduce((n, i) => n + i.sent.length, 0)).toBe(10);
  });

  it("a provider's 429 with Retry-After pauses the source for every instance", async () => {
    const budget = createSharedBudget({ redis, prefix, clock });
    let throttled = true;
    const a = provider(100, async () => {
      if (throttled)
        throw new FetchError({
          kind: 'rate_limited',
          source: 'twelvedata',
          message: 'HTTP 429',
          retryAfterMs: 30_000,
        });
      return [];
    });
    const b = provider(100);
    const slotA = withSharedBudget({ name: 'twelvedata', fetcher: a.fetcher }, budget, 'KEY');
    const slotB = withSharedBudget({ name: 'twelvedata', fetcher: b.fetcher }, budget, 'KEY');
    await expect(slotA.fetcher.fetchLatest(latest)).rejects.toMatchObject({ kind: 'rate_limited' });
    throttled = false;
    // B never saw the 429 itself, and sends nothing while the pause lasts.
    await expect(slotB.fetcher.fetchLatest(latest)).rejects.toMatchObject({ kind: 'rate_limited' });
    expect(b.sent).toEqual([]);
    clock.advance(30_001);
    await slotB.fetcher.fetchLatest(latest);
    expect(b.sent).toEqual(['latest EURUSD']);
  });

  it('a different API key has its own budget; a source without limits is passed through', async () => {
    const budget = createSharedBudget({ redis, prefix, clock });
    const one = provider(2);
    const other = provider(2);
    const s1 = withSharedBudget({ name: 'twelvedata', fetcher: one.fetcher }, budget, 'KEY-1');
    const s2 = withSharedBudget({ name: 'twelvedata', fetcher: other.fetcher }, budget, 'KEY-2');
    await s1.fetcher.fetchLatest(latest);
    await expect(s1.fetcher.fetchLatest(latest)).rejects.toMatchObject({ kind: 'rate_limited' });
    await s2.fetcher.fetchLatest(latest);
    expect(other.sent).toHaveLength(1);
    const free = provider(0);
    const slot = { name: 'twelvedata' as const, fetcher: free.fetcher };
    expect(withSharedBudget(slot, budget, 'KEY-1')).toBe(slot);
  });
});
