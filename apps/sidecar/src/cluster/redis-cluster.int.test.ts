// Cluster mode on a real Redis Cluster (issue 13: "Redis (single node or Cluster) for coordination"):
// a private 3-master cluster (@pipeline/test-utils' startRedisCluster), reached through ioredis' Cluster client. The
// coordination scripts touch one hash slot each (the cluster's or the provider key's hash tag), so they
// must run unchanged here; a script touching two slots would fail with CROSSSLOT. Then two sidecars
// wired from the environment (REDIS_CLUSTER_NODES, CLUSTER_NAME, HISTORY_URL) share the symbols with
// the hot cache on the same Redis Cluster.
import { execFileSync } from 'node:child_process';
import { ManualClock } from '@pipeline/core';
import { startRedisCluster, type RedisClusterHandle } from '@pipeline/test-utils';
import { Cluster } from 'ioredis';
import { loadConfig } from '../wiring/config';
import { createService, type Service } from '../wiring/service';
import { createClusterCoordinator, type ClusterCoordinator } from './coordinator';
import { clusterKeys } from './keys';
import { createSharedBudget } from './shared-budget';
import { createClusterRedis } from './wiring';

jest.setTimeout(90_000);

const SYMBOLS = Array.from({ length: 30 }, (_, i) => `SYM${i}`);
const PREFIX = 'rc:';
const DB = `pipeline_redis_cluster_${process.pid}_${Date.now() % 1e6}`;
const PG = (db: string) => `postgres://postgres@127.0.0.1:5432/${db}`;
const psql = (db: string, sql: string): string =>
  execFileSync('psql', ['-X', '-At', PG(db), '-c', sql], { encoding: 'utf8' });

let rc: RedisClusterHandle;
let redis: Cluster;

beforeAll(async () => {
  rc = await startRedisCluster(3);
  // The client the sidecar builds from REDIS_CLUSTER_NODES (cluster/wiring.ts).
  const client = createClusterRedis(
    loadConfig({ REDIS_CLUSTER_NODES: rc.nodes.join(','), CLUSTER_NAME: 'rc', SOURCES: 'synthetic' }),
  );
  expect(client).toBeInstanceOf(Cluster);
  redis = client as Cluster;
  redis.on('error', () => undefined); // the last test kills every node
  await redis.ping();
});
afterAll(async () => {
  redis?.disconnect();
  await rc?.stop();
});

/** The master serving `key` (its port), from CLUSTER KEYSLOT and the slot map. */
async function nodeOf(key: string): Promise<number> {
  const slot = await redis.cluster('KEYSLOT', key);
  const slots = await redis.cluster('SLOTS');
  const range = slots.find(([lo, hi]) => slot >= lo && slot <= hi);
  const port = range?.[2]?.[1];
  if (port === undefined) throw new Error(`slot ${slot} unassigned`);
  return port;
}

describe('on a 3-master Redis Cluster', () => {
  it('the cluster is real: three masters, keys of different hash tags on different nodes', async () => {
    const info = await redis.cluster('INFO');
    expect(info).toMatch(/cluster_state:ok/);
    expect(info).toMatch(/cluster_size:3/);
    const keys = clusterKeys(PREFIX, 'c1');
    // One cluster's coordination keys share one slot (one atomic script renews every lease).
    const slots = await Promise.all(
      [keys.members, keys.owners, keys.fences].map((k) => redis.cluster('KEYSLOT', k)),
    );
    expect(new Set(slots).size).toBe(1);
    // The budgets of different providers or clusters are spread over the masters.
    const nodes = new Set<number>();
    for (const name of ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8'])
      nodes.add(await nodeOf(clusterKeys(PREFIX, name).members));
    for (const p of ['yahoo', 'twelvedata', 'polygon', 'alphavantage'])
      nodes.add(await nodeOf(clusterKeys(PREFIX, 'c1').budget(p, 'KEY').log));
    expect(nodes.size).toBe(3);
  });

  it('leases: one owner per symbol, balanced shares, expiry after LEASE_TTL, a stale owner fenced', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 5, 12, 0, 0));
    const member = (id: string): ClusterCoordinator =>
      createClusterCoordinator({
        redis,
        prefix: PREFIX,
        cluster: 'leases',
        instanceId: id,
        symbols: SYMBOLS,
        clock,
        events: false,
      });
    const ms = ['i1', 'i2', 'i3'].map(member);
    for (let r = 0; r < 3; r++) for (const m of ms) await m.tick();
    for (const s of SYMBOLS) expect(ms.filter((m) => m.isOwner(s))).toHaveLength(1);
    for (const m of ms) expect(m.owned().size).toBeGreaterThan(4);
    const [a, b, dead] = ms as [ClusterCoordinator, ClusterCoordinator, ClusterCoordinator];
    const orphaned = [...dead.owned().keys()];
    clock.advance(4_000); // within the lease
    await a.tick();
    await b.tick();
    for (const s of orphaned) expect(a.isOwner(s) || b.isOwner(s)).toBe(false);
    clock.advance(7_000); // lease and heartbeat of the dead member lapsed
    for (let r = 0; r < 2; r++) for (const m of [a, b]) await m.tick();
    for (const s of orphaned) expect([a, b].filter((m) => m.isOwner(s))).toHaveLength(1);
    expect(await dead.fence(orphaned)).toEqual(new Set());
    const s0 = orphaned[0] ?? '';
    const owner = a.isOwner(s0) ? a : b;
    expect(owner.owned().get(s0)).toBeGreaterThan(dead.owned().get(s0) ?? Infinity);
    expect(await owner.fence([s0])).toEqual(new Set([s0]));
    expect((await a.leases()).filter((l) => l.owner === null)).toEqual([]);
  });

  it("prompt handover over pub/sub: a leaver's symbols move within ~200 ms, nobody ticking", async () => {
    const live = (id: string): ClusterCoordinator =>
      createClusterCoordinator({
        redis,
        prefix: PREFIX,
        cluster: 'events',
        instanceId: id,
        symbols: SYMBOLS,
      });
    const ms = ['e1', 'e2', 'e3'].map(live);
    try {
      for (let r = 0; r < 3; r++) for (const m of ms) await m.tick();
      // A tick opens the events subscription without waiting for it (a lost message only costs
      // time: the next cycle's round sees the change). Nobody ticks here, so wait until the three
      // subscriptions are counted (PUBSUB NUMSUB per master, summed): a loaded machine once had the
      // leaver publish before the others listened, and no handover followed.
      const channel = `${PREFIX}{cluster:events}:events`;
      const t1 = Date.now();
      for (;;) {
        const counts = await Promise.all(
          redis.nodes('master').map(async (n) => Number((await n.pubsub('NUMSUB', channel))[1])),
        );
        if (counts.reduce((a, b) => a + b, 0) >= ms.length) break;
        if (Date.now() - t1 > 10_000) throw new Error(`subscriptions not ready: ${counts.join(', ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const [leaver, ...stay] = ms as [ClusterCoordinator, ...ClusterCoordinator[]];
      const had = [...leaver.owned().keys()];
      expect(had.length).toBeGreaterThan(0);
      const t0 = Date.now();
      await leaver.leave();
      // The subscribers may sit on other masters than the publisher: the message is broadcast.
      for (;;) {
        if (had.every((s) => stay.some((m) => m.isOwner(s)))) break;
        if (Date.now() - t0 > 5_000) throw new Error('no handover through the events channel');
        await new Promise((r) => setTimeout(r, 10));
      }
      // About 200 ms on a quiet machine; without the events channel it would take the lease TTL
      // (5 s) and a tick. The bound leaves room for a loaded machine (it failed once at 1 s with
      // the load average near 27).
      expect(Date.now() - t0).toBeLessThan(2_000);
      for (const s of SYMBOLS) expect(stay.filter((m) => m.isOwner(s))).toHaveLength(1);
    } finally {
      for (const m of ms) await m.close();
    }
  });

  it('shared budget: three instances together never exceed the limit; a block pauses all', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 5, 12, 0, 0));
    const instances = [1, 2, 3].map(() => createSharedBudget({ redis, prefix: PREFIX, clock }));
    const inst = (i: number) => {
      const b = instances[i % 3];
      if (!b) throw new Error('no instance');
      return b;
    };
    let granted = 0;
    for (let i = 0; i < 30; i++)
      if ((await inst(i).take('alphavantage', 'KEY', { perMinute: 5, perDay: 25 })).granted) granted++;
    expect(granted).toBe(5);
    // Several requests at once (a paging history call): all or none.
    expect((await inst(0).take('twelvedata', 'KEY', { perMinute: 8 }, 6)).granted).toBe(true);
    expect((await inst(1).take('twelvedata', 'KEY', { perMinute: 8 }, 3)).granted).toBe(false);
    expect((await inst(2).spend('twelvedata', 'KEY', { perMinute: 8 }, 3)).minuteLeft).toBe(0);
    await inst(0).block('polygon', 'KEY', 30_000);
    expect((await inst(1).take('polygon', 'KEY', { perMinute: 100 })).granted).toBe(false);
    clock.advance(30_001);
    expect((await inst(2).take('polygon', 'KEY', { perMinute: 100 })).granted).toBe(true);
  });

  it('two sidecars from the environment (REDIS_CLUSTER_NODES): split symbols, hot cache and history shared', async () => {
    psql('postgres', `CREATE DATABASE ${DB}`);
    const services: Service[] = [];
    try {
      const symbols = ['BTCUSD', 'ETHUSD', 'SOLUSD', 'XRPUSD', 'LTCUSD'];
      const start = async (id: string): Promise<Service> => {
        const s = createService(
          loadConfig({
            SYMBOLS: symbols.join(','),
            SOURCES: 'synthetic',
            REDIS_CLUSTER_NODES: rc.nodes.join(','),
            REDIS_KEY_PREFIX: 'rcsvc:',
            HISTORY_URL: PG(DB),
            CLUSTER_NAME: 'svc',
            INSTANCE_ID: id,
            LEASE_TTL: '5',
            BOOTSTRAP_DAYS: '1',
            BATCH_WRITE_INTERVAL: '0.5',
          }),
        );
        services.push(s);
        await s.sidecar.start({ loop: false });
        return s;
      };
      const a = await start('rc-a');
      const b = await start('rc-b');
      const cycle = async () => {
        for (const s of [a, b]) await s.sidecar.runCycle();
        for (const s of [a, b]) await s.sidecar.cluster?.settled();
      };
      for (let i = 0; i < 4; i++) await cycle();
      const ha = a.sidecar.health();
      const hb = b.sidecar.health();
      expect([...(ha.cluster?.owned ?? []), ...(hb.cluster?.owned ?? [])].sort()).toEqual(
        [...symbols].sort(),
      );
      expect(ha.cluster?.owned.length).toBeGreaterThan(0);
      expect(hb.cluster?.owned.length).toBeGreaterThan(0);
      expect(ha.cluster?.lastTickError).toBeNull();
      expect(ha.storage.cache).toBe('redis:ready');
      // A symbol B owns, read through A: its bars come from the shared cache on the Redis Cluster.
      const foreign = hb.cluster?.owned[0] ?? '';
      const bars = (await a.app.inject({ method: 'GET', url: `/bars/${foreign}?limit=10` })).json<{
        bars: unknown[];
      }>();
      expect(bars.bars).toHaveLength(10);
      // Each takeover backfilled a day into PostgreSQL.
      expect(Number(psql(DB, `SELECT count(DISTINCT symbol) FROM bars`))).toBe(symbols.length);
    } finally {
      for (const s of services) await s.close().catch(() => undefined);
      psql('postgres', `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    }
  });

  it('every node down: a coordinator round fails within seconds (the cycle goes on), it does not hang', async () => {
    const c = createClusterCoordinator({
      redis,
      prefix: PREFIX,
      cluster: 'down',
      instanceId: 'd1',
      symbols: SYMBOLS,
      events: false,
    });
    await c.tick();
    expect(c.owned().size).toBe(SYMBOLS.length);
    await rc.stop(); // SIGKILL of every node (the last test of this file)
    const t0 = Date.now();
    await expect(c.tick()).rejects.toBeInstanceOf(Error);
    await expect(c.fence(SYMBOLS)).rejects.toBeInstanceOf(Error);
    expect(Date.now() - t0).toBeLessThan(15_000);
    // It still knows what it owned; the fence refused (threw), so nothing is written.
    expect(c.owned().size).toBe(SYMBOLS.length);
  });
});
