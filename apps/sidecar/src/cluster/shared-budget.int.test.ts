// The shared provider budget against the real Redis: windows at their edges with an injected clock,
// many instances drawing from one budget, a 429 pausing every instance, per-key isolation.
import { ManualClock } from '@pipeline/core';
import { deleteRedisPrefix, TEST_REDIS_URL, uniqueRedisPrefix } from '@pipeline/test-utils';
import Redis from 'ioredis';
import { createSharedBudget } from './shared-budget';

let redis: Redis;
let prefix: string;
let clock: ManualClock;
beforeEach(() => {
  redis = new Redis(TEST_REDIS_URL);
  prefix = uniqueRedisPrefix('budget');
  clock = new ManualClock(Date.UTC(2026, 0, 5, 12, 0, 0));
});
afterEach(async () => {
  await deleteRedisPrefix(redis, prefix);
  redis.disconnect();
});

/** xs[i], or a failed test when there is none. */
function at<T>(xs: readonly T[], i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i}`);
  return x;
}

describe('shared budget', () => {
  it('per-minute window: N instances together never exceed the limit, including at the edge', async () => {
    const instances = [1, 2, 3].map(() => createSharedBudget({ redis, prefix, clock, marginMs: 250 }));
    let granted = 0;
    for (let i = 0; i < 30; i++) {
      const a = await at(instances, i % 3).take('alphavantage', 'KEY1', { perMinute: 5, perDay: 25 });
      if (a.granted) granted++;
    }
    expect(granted).toBe(5);
    // At exactly 60 s the first sends still count (the window is widened by the margin).
    clock.advance(60_000);
    expect((await at(instances, 0).take('alphavantage', 'KEY1', { perMinute: 5 })).granted).toBe(false);
    const wait = (await at(instances, 0).peek('alphavantage', 'KEY1', { perMinute: 5 })).waitMs;
    expect(wait).toBe(250);
    clock.advance(250);
    expect((await at(instances, 1).take('alphavantage', 'KEY1', { perMinute: 5 })).granted).toBe(true);
  });

  it('per-second window spaces requests (1/s: the second one waits 1 s + margin)', async () => {
    const b = createSharedBudget({ redis, prefix, clock, marginMs: 50 });
    expect((await b.take('alphavantage', 'K', { perSecond: 1 })).granted).toBe(true);
    const no = await b.take('alphavantage', 'K', { perSecond: 1 });
    expect(no).toMatchObject({ granted: false, waitMs: 1_050 });
    clock.advance(1_049);
    expect((await b.take('alphavantage', 'K', { perSecond: 1 })).granted).toBe(false);
    clock.advance(1);
    expect((await b.take('alphavantage', 'K', { perSecond: 1 })).granted).toBe(true);
  });

  it('per-day counter resets at 00:00 UTC', async () => {
    clock = new ManualClock(Date.UTC(2026, 0, 5, 23, 59, 0));
    const b = createSharedBudget({ redis, prefix, clock, marginMs: 0 });
    for (let i = 0; i < 3; i++) expect((await b.take('twelvedata', 'K', { perDay: 3 })).granted).toBe(true);
    const no = await b.take('twelvedata', 'K', { perDay: 3 });
    expect(no).toMatchObject({ granted: false, waitMs: 60_000, dayLeft: 0 });
    clock.advance(60_000);
    expect(await b.take('twelvedata', 'K', { perDay: 3 })).toMatchObject({ granted: true, dayLeft: 2 });
  });

  it('a block (429 / Retry-After) seen by one instance pauses the provider for all', async () => {
    const a = createSharedBudget({ redis, prefix, clock });
    const b = createSharedBudget({ redis, prefix, clock });
    await a.block('yahoo', undefined, 30_000);
    const answer = await b.take('yahoo', undefined, { perMinute: 60 });
    expect(answer).toMatchObject({ granted: false, waitMs: 30_000, blockedUntil: clock.now() + 30_000 });
    clock.advance(30_000);
    expect((await b.take('yahoo', undefined, { perMinute: 60 })).granted).toBe(true);
  });

  it('budgets are per API key, and the key itself never reaches Redis', async () => {
    const b = createSharedBudget({ redis, prefix, clock });
    expect((await b.take('polygon', 'SECRET-A', { perMinute: 1 })).granted).toBe(true);
    expect((await b.take('polygon', 'SECRET-A', { perMinute: 1 })).granted).toBe(false);
    expect((await b.take('polygon', 'SECRET-B', { perMinute: 1 })).granted).toBe(true);
    const keys = await redis.keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join(' ')).not.toMatch(/SECRET/);
  });

  it('concurrent takes from many clients grant exactly the limit', async () => {
    const clients = Array.from({ length: 6 }, () => new Redis(TEST_REDIS_URL));
    try {
      const budgets = clients.map((redis) => createSharedBudget({ redis, prefix, clock }));
      const answers = await Promise.all(
        Array.from({ length: 120 }, (_, i) => at(budgets, i % 6).take('yahoo', 'K', { perMinute: 60 })),
      );
      expect(answers.filter((a) => a.granted).length).toBe(60);
    } finally {
      for (const c of clients) c.disconnect();
    }
  });
});
