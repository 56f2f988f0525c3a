import {
  cleanupTempDirs,
  startRedisCluster,
  uniqueRedisPrefix,
  type RedisClusterHandle,
} from '@pipeline/test-utils';
import calculateSlot from 'cluster-key-slot';
import { type Cluster } from 'ioredis';
import { bar, runHotCacheContract } from './hot-cache.contract';
import { createRedisHotCache } from './redis-hot-cache';

// One real three-master cluster for the whole file (about 1-2 s to form).
let cluster: RedisClusterHandle;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
}, 30_000);
afterAll(async () => {
  await cluster?.stop();
  cleanupTempDirs();
});

runHotCacheContract('Redis Cluster (3 masters)', async (settings) => {
  const cache = createRedisHotCache({
    ...settings,
    clusterNodes: cluster.nodes,
    keyPrefix: uniqueRedisPrefix('rkbc'),
  });
  return {
    cache,
    elapse: (ms) => new Promise((r) => setTimeout(r, ms)),
    // The cluster is thrown away after the file: no key cleanup needed.
    teardown: () => cache.close(),
  };
});

describe('on a real Redis Cluster', () => {
  it('puts all keys of one symbol in one slot (CLUSTER KEYSLOT agrees with cluster-key-slot)', async () => {
    const cache = createRedisHotCache({ clusterNodes: cluster.nodes });
    try {
      await cache.ready(10_000);
      const client = cache.client as Cluster;
      for (const symbol of ['EURUSD', 'XAUUSD', 'NAS100']) {
        const keys = [
          cache.keys.bars(symbol, '1m'),
          cache.keys.bars(symbol, '1d'),
          cache.keys.features(symbol),
          cache.keys.signal(symbol),
        ];
        const slots = await Promise.all(keys.map((k) => client.cluster('KEYSLOT', k)));
        expect(new Set(slots).size).toBe(1);
        expect(slots[0]).toBe(calculateSlot(symbol));
      }
    } finally {
      await cache.close();
    }
  });

  it('writes many symbols spread over every master in one call, and reads them back', async () => {
    const cache = createRedisHotCache({ clusterNodes: cluster.nodes, keyPrefix: uniqueRedisPrefix('rkbc') });
    try {
      await cache.ready(10_000);
      const client = cache.client as Cluster;
      const symbols = Array.from({ length: 60 }, (_, i) => `SYM${i}`);
      const owners = new Set(symbols.map((s) => client.slots[calculateSlot(s)]!.join(';')));
      expect(owners.size).toBe(3); // the batch really spans all three masters
      const res = await cache.writeBars(
        symbols.flatMap((symbol) => [0, 1, 2].map((i) => bar(i, { symbol }))),
      );
      expect(res).toMatchObject({ appended: 180, series: 60, refused: 0 });
      for (const symbol of symbols)
        expect((await cache.latestBars(symbol, '1m', 5)).map((b) => b.symbol)).toEqual([
          symbol,
          symbol,
          symbol,
        ]);
      for (const symbol of symbols) await cache.setSignal(symbol, { symbol });
      const signals = await cache.getSignals(symbols);
      expect(signals.size).toBe(60);
      expect(signals.get('SYM7')).toEqual({ symbol: 'SYM7' });
      expect(await client.xlen(cache.keys.stream('bars'))).toBe(1);
      expect(await client.xlen(cache.keys.stream('signals'))).toBe(60);
    } finally {
      await cache.close();
    }
  });
});
