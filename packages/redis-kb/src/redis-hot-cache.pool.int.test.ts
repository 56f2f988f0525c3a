// poolSize > 1: the contract suite on a pool of 4, symbol pinning seen from Redis' side, per-symbol
// ordering under concurrent unawaited writes, one lost connection, and the poolSize option rules.
import { isPipelineError } from '@pipeline/core';
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
import { MAX_POOL_SIZE, createRedisHotCache, poolIndexOf } from './redis-hot-cache';

const admin = new Redis(TEST_REDIS_URL);
afterAll(async () => {
  await admin.quit();
  cleanupTempDirs();
});

/** `perConnection` symbols pinned to each connection of a pool of `poolSize`, grouped by connection. */
function pinnedSymbols(poolSize: number, perConnection: number): string[][] {
  const groups = Array.from({ length: poolSize }, () => [] as string[]);
  for (let i = 0; groups.some((g) => g.length < perConnection); i++) {
    const g = groups[poolIndexOf(`SYM${i}`, poolSize)];
    if (g!.length < perConnection) g!.push(`SYM${i}`);
  }
  return groups;
}

/** Redis' own view of a connection: the last command it ran (`cmd=` in CLIENT LIST). */
async function lastCommandOf(ids: number[]): Promise<string[]> {
  const list = (await admin.client('LIST', 'ID', ...ids)) as string;
  const byId = new Map(
    list
      .trim()
      .split('\n')
      .map((line) => [Number(/\bid=(\d+)/.exec(line)![1]), /\bcmd=(\S+)/.exec(line)![1]] as const),
  );
  return ids.map((id) => byId.get(id)!);
}

runHotCacheContract('Redis, poolSize 4', async (settings) => {
  const keyPrefix = uniqueRedisPrefix('rkbpool');
  const cache = createRedisHotCache({ ...settings, redis: TEST_REDIS_URL, keyPrefix, poolSize: 4 });
  return {
    cache,
    elapse: (ms) => new Promise((r) => setTimeout(r, ms)),
    teardown: async () => {
      await cache.close();
      await deleteRedisPrefix(admin, keyPrefix);
    },
  };
});

describe('poolSize > 1 on a real Redis', () => {
  let keyPrefix: string;
  beforeEach(() => {
    keyPrefix = uniqueRedisPrefix('rkbpool');
  });
  afterEach(async () => {
    await deleteRedisPrefix(admin, keyPrefix);
  });

  it('pins every symbol to one connection by CRC16 of the symbol, for reads and writes alike', async () => {
    const cache = createRedisHotCache({ redis: TEST_REDIS_URL, keyPrefix, poolSize: 4 });
    try {
      await cache.ready();
      expect(cache.clients).toHaveLength(4);
      expect(cache.client).toBe(cache.clients[0]);
      const ids = await Promise.all(cache.clients.map((c) => c.client('ID')));
      expect(new Set(ids).size).toBe(4); // four real server-side connections
      for (const [index, symbols] of pinnedSymbols(4, 2).entries()) {
        for (const symbol of symbols) {
          expect(poolIndexOf(symbol, 4)).toBe(calculateSlot(symbol) % 4);
          expect(cache.clientFor(symbol)).toBe(cache.clients[index]);
          await Promise.all(cache.clients.map((c) => c.ping()));
          await cache.latestBars(symbol, '1m', 5);
          expect(await lastCommandOf(ids)).toEqual(ids.map((_, i) => (i === index ? 'lrange' : 'ping')));
          await Promise.all(cache.clients.map((c) => c.ping()));
          await cache.writeBars([bar(0, { symbol })]);
          // The script and then the symbol's fan-out entry, on the symbol's connection only.
          expect(await lastCommandOf(ids)).toEqual(ids.map((_, i) => (i === index ? 'xadd' : 'ping')));
          await Promise.all(cache.clients.map((c) => c.ping()));
          await cache.setSignal(symbol, { n: 1 });
          expect(await lastCommandOf(ids)).toEqual(ids.map((_, i) => (i === index ? 'xadd' : 'ping')));
        }
      }
      await cache.close();
      // close() quits every connection of the pool.
      expect(((await admin.client('LIST', 'ID', ...ids)) as string).trim()).toBe('');
    } finally {
      await cache.close();
    }
  });

  it('splits a multi-symbol write into one pipeline (and one fan-out entry) per connection', async () => {
    const cache = createRedisHotCache({ redis: TEST_REDIS_URL, keyPrefix, poolSize: 4 });
    try {
      await cache.ready();
      const groups = pinnedSymbols(4, 5);
      const symbols = groups.flat();
      const res = await cache.writeBars(
        symbols.flatMap((symbol) => [bar(0, { symbol }), bar(1, { symbol, final: false })]),
      );
      expect(res).toEqual({ appended: 40, replaced: 0, refused: 0, invalid: 0, series: 20 });
      for (const symbol of symbols)
        expect((await cache.latestBars(symbol, '1m', 5)).map((b) => b.symbol)).toEqual([symbol, symbol]);
      const entries = (await admin.xrangeBuffer(cache.keys.stream('bars'), '-', '+')) as Array<
        [Buffer, Buffer[]]
      >;
      const perEntry = entries.map(([, fields]) =>
        [...new Set(decodeFanoutBars(fields[1]!).map((b) => b.symbol))].sort(),
      );
      expect(perEntry.sort()).toEqual(groups.map((g) => [...g].sort()).sort());
      for (const symbol of symbols) await cache.setSignal(symbol, { symbol });
      const signals = await cache.getSignals([...symbols, 'NOSIGNAL']);
      expect(signals.size).toBe(20);
      expect(signals.get(symbols[7]!)).toEqual({ symbol: symbols[7] });
    } finally {
      await cache.close();
    }
  });

  it('never reorders writes of one series: unawaited forming-bar updates land, and fan out, in call order', async () => {
    const cache = createRedisHotCache({ redis: TEST_REDIS_URL, keyPrefix, poolSize: 4, replaceWindow: 0 });
    try {
      await cache.ready();
      const symbols = pinnedSymbols(4, 3).flat();
      const versions = 60;
      const writes: Array<Promise<unknown>> = [];
      // Each call updates the forming bar of every symbol; calls of different sizes finish out of order
      // across connections, but one symbol's updates must be applied in the order they were made.
      for (let v = 1; v <= versions; v++) {
        const batch = symbols.map((symbol) =>
          bar(0, { symbol, final: false, volume: v, close: 1.1 + v / 1e4 }),
        );
        if (v % 7 === 0) batch.push(...Array.from({ length: 300 }, (_, i) => bar(i, { symbol: `BULK${v}` })));
        writes.push(cache.writeBars(batch));
        // Signals of three symbols on three different connections, two each: ordered per symbol only.
        if (v % 10 === 0) writes.push(cache.setSignal(symbols[((v / 10) % 3) * 3]!, { v }));
      }
      await Promise.all(writes);
      for (const symbol of symbols)
        expect(await cache.lastBar(symbol, '1m')).toMatchObject({ volume: versions, final: false });
      const entries = (await admin.xrangeBuffer(cache.keys.stream('bars'), '-', '+')) as Array<
        [Buffer, Buffer[]]
      >;
      const seen = new Map<string, number[]>();
      for (const [, fields] of entries) {
        for (const b of decodeFanoutBars(fields[1]!))
          if (!b.symbol.startsWith('BULK')) seen.set(b.symbol, [...(seen.get(b.symbol) ?? []), b.volume]);
      }
      const inOrder = Array.from({ length: versions }, (_, i) => i + 1);
      for (const symbol of symbols) expect(seen.get(symbol)).toEqual(inOrder);
      const signals = (await admin.xrangeBuffer(cache.keys.stream('signals'), '-', '+')) as Array<
        [Buffer, Buffer[]]
      >;
      // The README's contract: one symbol's entries keep call order; entries of symbols on different
      // connections may interleave in any order (CI saw 10, 20, 40, 30, 50, 60), so only per symbol.
      const signalsOf = new Map<string, number[]>();
      for (const [, f] of signals)
        signalsOf.set(f[1]!.toString(), [
          ...(signalsOf.get(f[1]!.toString()) ?? []),
          decodeValue<{ v: number }>(f[3]!).v,
        ]);
      expect(new Set([symbols[0], symbols[3], symbols[6]].map((s) => poolIndexOf(s!, 4))).size).toBe(3);
      expect(Object.fromEntries(signalsOf)).toEqual({
        [symbols[3]!]: [10, 40],
        [symbols[6]!]: [20, 50],
        [symbols[0]!]: [30, 60],
      });
    } finally {
      await cache.close();
    }
  });

  it('rejects a bad poolSize, a pool over a client passed in and a pool over a Cluster, quoting the value', () => {
    for (const bad of [0, 65, 2.5, Number.NaN, '4']) {
      try {
        createRedisHotCache({ redis: TEST_REDIS_URL, poolSize: bad as number });
        throw new Error(`expected an OptionsError for ${String(bad)}`);
      } catch (err) {
        expect(isPipelineError(err, 'INVALID_OPTIONS')).toBe(true);
        expect(String(err)).toMatch(/"poolSize"/);
        expect(String(err)).toContain(JSON.stringify(bad));
      }
    }
    expect(MAX_POOL_SIZE).toBe(64);
    expect(() => createRedisHotCache({ clusterNodes: ['127.0.0.1:7000'], poolSize: 2 })).toThrow(
      /"poolSize" must be 1 for a Redis Cluster.*got 2/,
    );
    const client = new Redis(TEST_REDIS_URL, { lazyConnect: true });
    expect(() => createRedisHotCache({ redis: client, poolSize: 3 })).toThrow(
      /"poolSize" 3 needs the cache to open its own connections/,
    );
    client.disconnect();
  });
});

describe('poolSize 4, one connection lost (private redis-server)', () => {
  it('reports down while one connection is lost, fails only its symbols fast, and is ready again after its reconnect', async () => {
    const srv = await startRedisServer();
    // A slow first reconnect keeps the lost connection down long enough to look at, even on a busy machine.
    const cache = createRedisHotCache({
      redis: { host: '127.0.0.1', port: srv.port, retryStrategy: () => 1500 },
      poolSize: 4,
    });
    const changes: CacheStatusChange[] = [];
    cache.onStatusChange((c) => changes.push(c));
    const raw = new Redis(srv.url);
    try {
      await cache.ready();
      const [lostSyms, ...others] = pinnedSymbols(4, 1);
      const lostId = await cache.clients[0]!.client('ID');
      const down = new Promise<void>((resolve) =>
        cache.onStatusChange((c) => c.status === 'down' && resolve()),
      );
      await raw.client('KILL', 'ID', String(lostId));
      await down;
      expect(cache.health()).toMatchObject({ status: 'down', connections: { total: 4, ready: 3 } });
      const started = performance.now();
      await expect(cache.latestBars(lostSyms![0]!, '1m', 5)).rejects.toMatchObject({
        code: 'CACHE_UNAVAILABLE',
        status: 'down',
      });
      // A write touching the lost connection fails as a whole, before anything is sent.
      await expect(
        cache.writeBars([bar(0, { symbol: others[0]![0] }), bar(0, { symbol: lostSyms![0] })]),
      ).rejects.toMatchObject({
        code: 'CACHE_UNAVAILABLE',
      });
      expect(performance.now() - started).toBeLessThan(50);
      expect(await raw.exists(cache.keys.bars(others[0]![0]!, '1m'))).toBe(0);
      // Symbols on the other connections are still served.
      expect(await cache.writeBars(others.flat().map((symbol) => bar(0, { symbol })))).toMatchObject({
        appended: 3,
      });

      await cache.ready(5000);
      expect(cache.health()).toMatchObject({ status: 'ready', connections: { total: 4, ready: 4 } });
      expect(changes.map((c) => c.status)).toEqual(['ready', 'down', 'ready']); // connecting -> ready at start, then one outage
      expect(await cache.writeBars([bar(0, { symbol: lostSyms![0] })])).toMatchObject({ appended: 1 });
    } finally {
      await raw.quit();
      await cache.close();
      await srv.stop();
    }
  });
});
