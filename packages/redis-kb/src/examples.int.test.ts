// Runs the README's quick start and the consumer example against a real Redis.
import { type Bar } from '@pipeline/core';
import { TEST_REDIS_URL, deleteRedisPrefix, uniqueRedisPrefix } from '@pipeline/test-utils';
import { Redis } from 'ioredis';
import { follow, latestCloses } from '../examples/consumer';
import { quickStart } from '../examples/quick-start';
import { bar } from './hot-cache.contract';
import { createMemoryHotCache } from './memory-hot-cache';
import { createRedisHotCache } from './redis-hot-cache';

const admin = new Redis(TEST_REDIS_URL);
afterAll(() => admin.quit());
const silence = () => jest.spyOn(console, 'log').mockImplementation(() => undefined);

it('quick start works on the in-process cache and on Redis alike', async () => {
  const log = silence();
  const prefix = uniqueRedisPrefix('rkbqs');
  const memory = createMemoryHotCache();
  const redis = createRedisHotCache({ redis: TEST_REDIS_URL, keyPrefix: prefix });
  try {
    const a = await quickStart(memory);
    const b = await quickStart(redis);
    expect(a).toEqual(b);
    expect(a.map((x) => [x.close, x.final])).toEqual([
      [1.101, true],
      [1.103, false],
    ]);
  } finally {
    log.mockRestore();
    await memory.close();
    await redis.close();
    await deleteRedisPrefix(admin, prefix);
  }
});

it('the consumer example follows bars and signals as they are written, and stops on abort', async () => {
  const prefix = uniqueRedisPrefix('rkbcons');
  const cache = createRedisHotCache({ redis: TEST_REDIS_URL, keyPrefix: prefix });
  await cache.ready();
  await cache.writeBars([bar(0)]); // before the follower starts: not delivered
  const controller = new AbortController();
  const got: Bar[] = [];
  const signals: string[] = [];
  const closes = latestCloses();
  let notify: () => void = () => undefined;
  let ready: () => void = () => undefined;
  const followerReady = new Promise<void>((r) => (ready = r));
  const following = follow({
    redisUrl: TEST_REDIS_URL,
    prefix,
    signal: controller.signal,
    onReady: () => ready(),
    onBars: (bars) => {
      got.push(...bars);
      closes.apply(bars);
      notify();
    },
    onSignal: (symbol) => {
      signals.push(symbol);
      notify();
    },
  });
  try {
    await followerReady;
    const arrived = new Promise<void>((resolve) => {
      notify = () => got.length >= 3 && signals.length >= 1 && resolve();
    });
    await cache.writeBars([bar(1), bar(2, { final: false })]);
    await cache.writeBars([bar(2, { final: true, close: 7 })]);
    await cache.setSignal('EURUSD', { direction: 'long' });
    await arrived;
    expect(got.map((b) => [b.ts, b.final])).toEqual([
      [bar(1).ts, true],
      [bar(2).ts, false],
      [bar(2).ts, true],
    ]);
    expect(closes.get('EURUSD', '1m')).toBe(7);
    expect(signals).toEqual(['EURUSD']);
  } finally {
    controller.abort();
    await following;
    await cache.close();
    await deleteRedisPrefix(admin, prefix);
  }
});
