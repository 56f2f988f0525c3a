import { ManualClock, isPipelineError } from '@pipeline/core';
import {
  TEST_REDIS_URL,
  cleanupTempDirs,
  deleteRedisPrefix,
  startRedisServer,
  uniqueRedisPrefix,
} from '@pipeline/test-utils';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { decodeFanoutBars, decodeValue } from './codec';
import { bar, runHotCacheContract } from './hot-cache.contract';
import { type CacheStatusChange } from './hot-cache';
import { REDIS_HOT_CACHE_DEFAULTS, createRedisHotCache, poolIndexOf } from './redis-hot-cache';

const admin = new Redis(TEST_REDIS_URL);

/** One symbol pinned to each connection of a pool of `poolSize` (EURUSD first). */
function symbolsPerConnection(poolSize: number): string[] {
  const out = new Map<number, string>([[poolIndexOf('EURUSD', poolSize), 'EURUSD']]);
  for (let i = 0; out.size < poolSize; i++)
    if (!out.has(poolIndexOf(`SYM${i}`, poolSize))) out.set(poolIndexOf(`SYM${i}`, poolSize), `SYM${i}`);
  return [...out.values()];
}
afterAll(async () => {
  await admin.quit();
  cleanupTempDirs();
});

runHotCacheContract('Redis', async (settings) => {
  const keyPrefix = uniqueRedisPrefix('rediskb');
  const cache = createRedisHotCache({ ...settings, redis: TEST_REDIS_URL, keyPrefix });
  return {
    cache,
    // Redis expires keys on its own clock: the only way to see a real TTL lapse is to let it pass.
    elapse: (ms) => new Promise((r) => setTimeout(r, ms)),
    teardown: async () => {
      await cache.close();
      await deleteRedisPrefix(admin, keyPrefix);
    },
  };
});

describe('createRedisHotCache on a real Redis', () => {
  let keyPrefix: string;
  beforeEach(() => {
    keyPrefix = uniqueRedisPrefix('rediskb');
  });
  afterEach(async () => {
    await deleteRedisPrefix(admin, keyPrefix);
  });

  it('lays keys out under the prefix with the symbol in a hash tag, so one symbol shares a slot', async () => {
    const cache = createRedisHotCache({ redis: TEST_REDIS_URL, keyPrefix });
    await cache.ready();
    await cache.writeBars([bar(0), bar(0, { timeframe: '5m' })]);
    await cache.setFeatures('EURUSD', { rsi: 50 });
    await cache.setSignal('EURUSD', { direction: 'long' });
    const keys = (await admin.keys(`${keyPrefix}*`)).sort();
    expect(keys).toEqual(
      [
        `${keyPrefix}bars:{EURUSD}:1m`,
        `${keyPrefix}bars:{EURUSD}:5m`,
        `${keyPrefix}features:{EURUSD}`,
        `${keyPrefix}signal:{EURUSD}`,
        `${keyPrefix}stream:bars`,
        `${keyPrefix}stream:signals`,
      ].sort(),
    );
    const symbolKeys = keys.filter((k) => k.includes('{EURUSD}'));
    expect(new Set(symbolKeys.map((k) => calculateSlot(k))).size).toBe(1);
    expect(calculateSlot(cache.keys.bars('XAUUSD', '1m'))).toBe(calculateSlot('XAUUSD'));
    expect(await admin.type(`${keyPrefix}bars:{EURUSD}:1m`)).toBe('list');
    await cache.close();
  });

  it('stores features with a PX expiry and signals without one', async () => {
    const cache = createRedisHotCache({ redis: TEST_REDIS_URL, keyPrefix, featureTtlMs: 1500 });
    await cache.ready();
    await cache.setFeatures('EURUSD', { rsi: 50 });
    await cache.setSignal('EURUSD', { direction: 'long' });
    const pttl = await admin.pttl(cache.keys.features('EURUSD'));
    expect(pttl).toBeGreaterThan(1000);
    expect(pttl).toBeLessThanOrEqual(1500);
    expect(await admin.pttl(cache.keys.signal('EURUSD'))).toBe(-1);
    await cache.close();
  });

  it('keeps each series strictly increasing under concurrent writers (atomic per call)', async () => {
    const a = createRedisHotCache({ redis: TEST_REDIS_URL, keyPrefix, maxBars: 50, fanout: false });
    const b = createRedisHotCache({ redis: TEST_REDIS_URL, keyPrefix, maxBars: 50, fanout: false });
    await Promise.all([a.ready(), b.ready()]);
    const writes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 40; i++) {
      const batch = [bar(i), bar(i + 1, { final: false }), bar(i + 2, { final: false })];
      writes.push((i % 2 ? a : b).writeBars(batch));
    }
    await Promise.all(writes);
    const got = await a.latestBars('EURUSD', '1m', 100);
    const ts = got.map((x) => x.ts);
    expect(ts).toEqual([...new Set(ts)].sort((x, y) => x - y));
    expect(ts).toHaveLength(42);
    expect(await admin.llen(a.keys.bars('EURUSD', '1m'))).toBe(42);
    await a.close();
    await b.close();
  });

  it('fans accepted bars and signals out on capped streams a follower reads with XREAD', async () => {
    const cache = createRedisHotCache({
      redis: TEST_REDIS_URL,
      keyPrefix,
      streamMaxLen: 10,
      replaceWindow: 0,
    });
    await cache.ready();
    await cache.writeBars([bar(0), bar(1), bar(0, { symbol: 'XAUUSD', close: 2000 })]);
    await cache.writeBars([bar(1, { close: 3 }), bar(0)]); // bar 0 is refused: not fanned out
    await cache.setSignal('EURUSD', { direction: 'short', confidence: 0.4 });
    const entries = (await admin.xrangeBuffer(cache.keys.stream('bars'), '-', '+')) as Array<
      [Buffer, Buffer[]]
    >;
    expect(entries).toHaveLength(2);
    const batches = entries.map(([, fields]) => decodeFanoutBars(fields[1]!));
    expect(batches[0]!.map((b) => `${b.symbol}@${b.ts}`).sort()).toEqual(
      [`EURUSD@${bar(0).ts}`, `EURUSD@${bar(1).ts}`, `XAUUSD@${bar(0).ts}`].sort(),
    );
    expect(batches[1]).toEqual([bar(1, { close: 3 })]);
    const signals = (await admin.xrangeBuffer(cache.keys.stream('signals'), '-', '+')) as Array<
      [Buffer, Buffer[]]
    >;
    expect(signals[0]![1][1]!.toString()).toBe('EURUSD');
    expect(decodeValue(signals[0]![1][3]!)).toEqual({ direction: 'short', confidence: 0.4 });
    // MAXLEN ~ trims whole macro nodes, so the bound is approximate but holds.
    for (let i = 2; i < 400; i++) await cache.writeBars([bar(i)]);
    expect(await admin.xlen(cache.keys.stream('bars'))).toBeLessThan(400);
    await cache.close();
  });

  it('rejects unknown options, bad values and a client with its own keyPrefix, quoting them', () => {
    expect(() => createRedisHotCache({ redis: TEST_REDIS_URL, maxbars: 1 } as never)).toThrow(
      /unknown option "maxbars"/,
    );
    expect(() => createRedisHotCache({ maxBars: -5 })).toThrow(/"maxBars".*got -5/);
    expect(() => createRedisHotCache({ keyPrefix: 'a{b}' })).toThrow(/"keyPrefix".*"a\{b\}"/);
    expect(() => createRedisHotCache({ clusterNodes: ['nohost'] })).toThrow(/"nohost"/);
    const prefixed = new Redis(TEST_REDIS_URL, { keyPrefix: 'x:', lazyConnect: true });
    try {
      createRedisHotCache({ redis: prefixed });
      throw new Error('expected an OptionsError');
    } catch (err) {
      expect(isPipelineError(err, 'INVALID_OPTIONS')).toBe(true);
      expect(String(err)).toContain('"x:"');
    }
    prefixed.disconnect();
    expect(REDIS_HOT_CACHE_DEFAULTS).toMatchObject({
      keyPrefix: 'pipeline:',
      maxBars: 5000,
      featureTtlMs: 2000,
    });
  });

  it('uses a client passed in without closing it', async () => {
    const client = new Redis(TEST_REDIS_URL);
    const cache = createRedisHotCache({ redis: client, keyPrefix });
    await cache.ready();
    await cache.writeBars([bar(0)]);
    await cache.close();
    expect(await client.llen(`${keyPrefix}bars:{EURUSD}:1m`)).toBe(1);
    await client.quit();
  });

  it('raises CACHE_COMMAND_FAILED when a foreign value sits on a series key', async () => {
    const cache = createRedisHotCache({ redis: TEST_REDIS_URL, keyPrefix });
    try {
      await cache.ready();
      await admin.set(cache.keys.bars('EURUSD', '1m'), 'not a list');
      await expect(cache.writeBars([bar(0)])).rejects.toMatchObject({
        code: 'CACHE_COMMAND_FAILED',
        operation: 'writeBars',
      });
      await expect(cache.latestBars('EURUSD', '1m', 5)).rejects.toMatchObject({
        code: 'CACHE_COMMAND_FAILED',
      });
      await admin.set(cache.keys.signal('EURUSD'), Buffer.from([0x92, 0x01]));
      await expect(cache.getSignal('EURUSD')).rejects.toMatchObject({ code: 'CACHE_DECODE_FAILED' });
      expect(cache.stats().failedCalls).toBe(2);
    } finally {
      await cache.close();
    }
  });
});

describe('Redis down and back (private redis-server)', () => {
  it('loads its scripts again after the script cache is flushed (NOSCRIPT)', async () => {
    const srv = await startRedisServer();
    const cache = createRedisHotCache({ redis: srv.url });
    try {
      await cache.ready();
      await cache.writeBars([bar(0)]);
      const raw = new Redis(srv.url);
      await raw.script('FLUSH');
      expect(await cache.writeBars([bar(1)])).toMatchObject({ appended: 1 });
      await raw.script('FLUSH');
      expect(await cache.barsInRange('EURUSD', '1m', 0, Number.MAX_SAFE_INTEGER)).toHaveLength(2);
      await raw.quit();
    } finally {
      await cache.close();
      await srv.stop();
    }
  });

  it.each([1, 4])(
    'fails fast with CACHE_UNAVAILABLE while Redis is down, reports it, and works again after restart (poolSize %i)',
    async (poolSize) => {
      const srv = await startRedisServer();
      const cache = createRedisHotCache({ redis: srv.url, reconnectMaxDelayMs: 100, poolSize });
      // Symbols pinned to every connection of the pool, so each one's outage and return is exercised.
      const symbols = symbolsPerConnection(poolSize);
      const changes: CacheStatusChange[] = [];
      cache.onStatusChange((c) => changes.push(c));
      try {
        await cache.ready();
        expect(cache.health()).toMatchObject({
          status: 'ready',
          connections: { total: poolSize, ready: poolSize },
        });
        await cache.writeBars(symbols.map((symbol) => bar(0, { symbol })));

        await srv.kill();
        // A command racing the kill may fail as it lands; every later one fails before reaching a socket.
        await cache.writeBars(symbols.map((symbol) => bar(1, { symbol }))).catch(() => undefined);
        for (const symbol of symbols) {
          await cache.lastBar(symbol, '1m').catch(() => undefined);
          const started = performance.now();
          const err = await cache.writeBars([bar(2, { symbol })]).catch((e: unknown) => e);
          const tookMs = performance.now() - started;
          expect(isPipelineError(err, 'CACHE_UNAVAILABLE')).toBe(true);
          expect(tookMs).toBeLessThan(50);
          await expect(cache.latestBars(symbol, '1m', 5)).rejects.toMatchObject({
            code: 'CACHE_UNAVAILABLE',
          });
        }
        expect(cache.health()).toMatchObject({ status: 'down', connections: { total: poolSize, ready: 0 } });
        expect(cache.health().lastError).toBeInstanceOf(Error);
        expect(changes.map((c) => c.status)).toContain('down');

        await srv.restart();
        await cache.ready(5000);
        expect(cache.health()).toMatchObject({
          status: 'ready',
          connections: { total: poolSize, ready: poolSize },
        });
        expect(changes.at(-1)).toMatchObject({ status: 'ready', previous: 'down' });
        // The private server keeps nothing on restart: the host refills from its store, and writes work
        // on every connection.
        expect(
          await cache.writeBars(symbols.flatMap((symbol) => [bar(2, { symbol }), bar(3, { symbol })])),
        ).toMatchObject({
          appended: 2 * symbols.length,
        });
        for (const symbol of symbols) expect(await cache.seriesLength(symbol, '1m')).toBe(2);
      } finally {
        await cache.close();
        await srv.stop();
      }
    },
  );

  it('reports connecting, then down, when Redis is not there at start; ready() times out with CACHE_UNAVAILABLE', async () => {
    const srv = await startRedisServer();
    await srv.stop();
    const clock = new ManualClock();
    const cache = createRedisHotCache({
      redis: srv.url,
      reconnectMaxDelayMs: 50,
      connectTimeoutMs: 200,
      clock,
    });
    try {
      expect(cache.health()).toMatchObject({ status: 'connecting', since: clock.now() });
      const down = new Promise<void>((resolve) =>
        cache.onStatusChange((c) => c.status === 'down' && resolve()),
      );
      const ready = cache.ready(300);
      await down;
      clock.advance(300); // ready()'s timeout runs on the injected scheduler
      await expect(ready).rejects.toMatchObject({ code: 'CACHE_UNAVAILABLE' });
      expect(clock.pendingTimers).toBe(0);
      expect(cache.health().status).toBe('down');
      expect(cache.health().lastError?.message).toMatch(/ECONNREFUSED/);
      await expect(cache.setSignal('EURUSD', {})).rejects.toMatchObject({
        code: 'CACHE_UNAVAILABLE',
        status: 'down',
      });
      await srv.restart();
      await cache.ready(5000);
      await cache.setSignal('EURUSD', { direction: 'long' });
      expect(await cache.getSignal('EURUSD')).toEqual({ direction: 'long' });
    } finally {
      await cache.close();
      await srv.stop();
    }
  });
});
