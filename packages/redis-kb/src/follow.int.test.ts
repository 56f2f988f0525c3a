// followBars against the shared Redis, each test under its own key prefix.
import { isPipelineError, type Bar } from '@pipeline/core';
import { TEST_REDIS_URL, deleteRedisPrefix, uniqueRedisPrefix } from '@pipeline/test-utils';
import { Redis } from 'ioredis';
import { followBars, followSignals, type BarFollower } from './index';
import { bar } from './hot-cache.contract';
import { createRedisHotCache, type RedisHotCache } from './redis-hot-cache';

const admin = new Redis(TEST_REDIS_URL);
afterAll(() => admin.quit());

/** Takes `n` bars from the follower (fails the test after `ms`). */
async function take(follower: BarFollower, n: number, ms = 5_000): Promise<Bar[]> {
  const out: Bar[] = [];
  const deadline = setTimeout(() => void follower.close(), ms);
  try {
    while (out.length < n) {
      const r = await follower.next();
      if (r.done) throw new Error(`follower ended after ${out.length} of ${n} bars`);
      out.push(r.value);
    }
  } finally {
    clearTimeout(deadline);
  }
  return out;
}

/** Connections named `name` that the server sees blocked in XREAD. */
async function blockedReaders(name: string): Promise<number> {
  const list = (await admin.client('LIST')) as string;
  return list.split('\n').filter((l) => l.includes(` name=${name} `) && /cmd=xread\b/.test(l)).length;
}

describe('followBars', () => {
  let prefix: string;
  let cache: RedisHotCache;
  const open: BarFollower[] = [];
  beforeEach(async () => {
    prefix = uniqueRedisPrefix('rkbfollow');
    cache = createRedisHotCache({ redis: TEST_REDIS_URL, keyPrefix: prefix });
    await cache.ready();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((f) => f.close()));
    await cache.close();
    await deleteRedisPrefix(admin, prefix);
  });
  const follow = (options: Parameters<typeof followBars>[0]): BarFollower => {
    const f = followBars(options);
    open.push(f);
    return f;
  };

  it('yields the bars written after it is ready, in order, under its prefix only, forming bars again', async () => {
    await cache.writeBars([bar(0)]); // before the follower: not delivered
    const follower = follow({ url: TEST_REDIS_URL, prefix });
    await follower.ready();
    // Same symbols, another prefix (another pipeline on the same Redis): never seen.
    const other = createRedisHotCache({ redis: TEST_REDIS_URL, keyPrefix: `${prefix}other:` });
    try {
      await other.ready();
      await other.writeBars([bar(1, { close: 9 })]);
      await cache.writeBars([bar(1), bar(2, { final: false, close: 1.2 })]);
      await cache.writeBars([bar(2, { final: true, close: 1.3 })]);
      const got = await take(follower, 3);
      expect(got).toEqual([
        bar(1),
        bar(2, { final: false, close: 1.2 }),
        bar(2, { final: true, close: 1.3 }),
      ]);
      expect(follower.lastId).toMatch(/^\d+-\d+$/);
    } finally {
      await other.close();
      await deleteRedisPrefix(admin, `${prefix}other:`);
    }
  });

  it('filters by symbols and timeframe', async () => {
    const follower = follow({ url: TEST_REDIS_URL, prefix, symbols: ['XAUUSD', 'NAS100'], timeframe: '1m' });
    await follower.ready();
    await cache.writeBars([
      bar(1),
      bar(1, { symbol: 'XAUUSD' }),
      bar(1, { symbol: 'XAUUSD', timeframe: '5m' }),
      bar(1, { symbol: 'NAS100' }),
    ]);
    await cache.writeBars([bar(2, { symbol: 'NAS100' })]);
    const got = (await take(follower, 3)).map((b) => `${b.symbol} ${b.timeframe} ${b.ts}`);
    // One entry per write; within one, the cache orders bars by series, not by call order.
    expect(got.slice(0, 2).sort()).toEqual([`NAS100 1m ${bar(1).ts}`, `XAUUSD 1m ${bar(1).ts}`]);
    expect(got[2]).toBe(`NAS100 1m ${bar(2).ts}`);
  });

  it('resumes after lastId without a hole', async () => {
    const first = follow({ url: TEST_REDIS_URL, prefix });
    await first.ready();
    await cache.writeBars([bar(1)]);
    await cache.writeBars([bar(2)]);
    expect(await take(first, 2)).toEqual([bar(1), bar(2)]);
    // lastId moves once an entry is fully delivered: ask for the next bar to settle entry 2.
    const pending = first.next();
    await cache.writeBars([bar(3)]);
    expect((await pending).value).toEqual(bar(3));
    const resumeAfter = first.lastId!;
    await first.close();
    await cache.writeBars([bar(4)]);
    await cache.writeBars([bar(5)]);
    // Entry 3 was handed out but not settled: a resume from lastId (entry 2) gets it again.
    const second = follow({ url: TEST_REDIS_URL, prefix, lastId: resumeAfter });
    expect((await take(second, 3)).map((b) => b.ts)).toEqual([bar(3).ts, bar(4).ts, bar(5).ts]);
  });

  it('ends on abort, closing its connection, and takes settings from a client without blocking it', async () => {
    const controller = new AbortController();
    // A client set up like the cache's (1 s command timeout, no retries, no offline queue): the
    // follower's copy must not inherit those (XREAD blocks 1.5 s here), and the client stays usable.
    const name = `follow${process.pid}${Date.now()}`;
    const client = new Redis(TEST_REDIS_URL, {
      connectionName: name,
      commandTimeout: 1_000,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    try {
      await new Promise((resolve) => client.once('ready', resolve));
      const follower = follow({ redis: client, prefix, signal: controller.signal, blockMs: 1_500 });
      await follower.ready();
      const next = follower.next();
      await new Promise((r) => setTimeout(r, 2_000)); // one BLOCK timed out and was re-issued
      expect(await client.ping()).toBe('PONG');
      expect(await blockedReaders(name)).toBe(1);
      await cache.writeBars([bar(7)]);
      expect((await next).value).toEqual(bar(7));
      const waiting = follower.next();
      controller.abort();
      expect(await waiting).toEqual({ done: true, value: undefined });
      expect(await follower.next()).toEqual({ done: true, value: undefined });
      for (let i = 0; i < 50 && (await blockedReaders(name)) > 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(await blockedReaders(name)).toBe(0);
      expect(client.status).toBe('ready');
    } finally {
      client.disconnect();
    }
  });

  it('works with for await and break, and with an already aborted signal', async () => {
    const follower = follow({ url: TEST_REDIS_URL, prefix });
    await follower.ready();
    await cache.writeBars([bar(1), bar(2), bar(3)]);
    const seen: number[] = [];
    for await (const b of follower) {
      seen.push(b.ts);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([bar(1).ts, bar(2).ts]);
    expect(await follower.next()).toEqual({ done: true, value: undefined });
    const aborted = follow({ url: TEST_REDIS_URL, prefix, signal: AbortSignal.abort() });
    await aborted.ready();
    expect(await aborted.next()).toEqual({ done: true, value: undefined });
  });

  it('throws CACHE_COMMAND_FAILED when the key is not a stream, and CACHE_DECODE_FAILED for a foreign entry', async () => {
    await admin.set(`${prefix}stream:bars`, 'not a stream');
    const broken = follow({ url: TEST_REDIS_URL, prefix, lastId: '0' });
    const error = await broken.next().then(
      () => null,
      (e: unknown) => e,
    );
    expect(isPipelineError(error, 'CACHE_COMMAND_FAILED')).toBe(true);
    await admin.del(`${prefix}stream:bars`);
    await admin.xadd(`${prefix}stream:bars`, '*', 'bars', 'plain text');
    const foreign = follow({ url: TEST_REDIS_URL, prefix, lastId: '0' });
    await expect(foreign.next()).rejects.toMatchObject({ code: 'CACHE_DECODE_FAILED' });
  });

  it('refuses bad options by name, never echoing a password', () => {
    expect(() => followBars({ prefix })).toThrow(/exactly one of "redis" \(a client\) and "url"/);
    expect(() => followBars({ url: 'http://user:secret@host', prefix })).toThrow(
      /"url" must be a redis:\/\/ .*\/\/\*\*\*@host/,
    );
    expect(() => followBars({ url: 'http://user:secret@host' })).not.toThrow(/secret/);
    expect(() => followBars({ url: TEST_REDIS_URL, symbol: ['EURUSD'] } as never)).toThrow(
      /unknown option "symbol"/,
    );
    expect(() => followBars({ url: TEST_REDIS_URL, symbols: [] })).toThrow(/"symbols"/);
    expect(() => followBars({ url: TEST_REDIS_URL, timeframe: '2m' as never })).toThrow(/"timeframe"/);
    expect(() => followBars({ url: TEST_REDIS_URL, blockMs: 0 })).toThrow(/"blockMs"/);
    expect(() => followBars({ url: TEST_REDIS_URL, lastId: 'x' })).toThrow(/"lastId"/);
    expect(() => followBars({ url: TEST_REDIS_URL, prefix: 'a{b}' })).toThrow(/"prefix"/);
  });

  it('followSignals yields the signals stored after it is ready, of the chosen symbols', async () => {
    const follower = followSignals<{ direction: string }>({
      url: TEST_REDIS_URL,
      prefix,
      symbols: ['EURUSD', 'XAUUSD'],
    });
    try {
      await follower.ready();
      await cache.setSignal('NAS100', { direction: 'short' });
      await cache.setSignal('EURUSD', { direction: 'long' });
      await cache.setSignal('XAUUSD', { direction: 'flat' });
      const got = [(await follower.next()).value, (await follower.next()).value];
      expect(got).toEqual([
        { symbol: 'EURUSD', signal: { direction: 'long' } },
        { symbol: 'XAUUSD', signal: { direction: 'flat' } },
      ]);
      expect(() => followSignals({ url: TEST_REDIS_URL, timeframe: '1m' } as never)).toThrow(
        /followSignals: unknown option "timeframe"/,
      );
    } finally {
      await follower.close();
    }
  });
});
