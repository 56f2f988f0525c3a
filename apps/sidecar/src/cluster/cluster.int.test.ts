// Cluster mode in process: two services wired from the environment (CLUSTER_NAME, REDIS_URL,
// HISTORY_URL) against the machine's Redis (own key prefix) and PostgreSQL (own database), driven
// cycle by cycle. The multi-process test with SIGKILL/SIGTERM and a provider-format server is
// reliability/cluster.rel.test.ts.
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL, deleteRedisPrefix, uniqueRedisPrefix } from '@pipeline/test-utils';
import { isSidecarError } from '../errors';
import { loadConfig } from '../wiring/config';
import { createService, type Service } from '../wiring/service';
import { type ClusterView } from './stage';

const SYMBOLS = ['BTCUSD', 'ETHUSD', 'SOLUSD', 'XRPUSD', 'LTCUSD'];
const DB = `pipeline_cluster_int_${process.pid}_${Date.now() % 1e6}`;
const PG = (db: string) => `postgres://postgres@127.0.0.1:5432/${db}`;
const psql = (db: string, sql: string): string =>
  execFileSync('psql', ['-X', '-At', PG(db), '-c', sql], { encoding: 'utf8' });

jest.setTimeout(60_000);

describe('cluster mode (in process)', () => {
  let prefix: string;
  const services: Service[] = [];

  beforeAll(() => {
    prefix = uniqueRedisPrefix('cluster-int');
    psql('postgres', `CREATE DATABASE ${DB}`);
  });
  afterAll(async () => {
    for (const s of services) await s.close().catch(() => undefined);
    const redis = new Redis(TEST_REDIS_URL);
    await deleteRedisPrefix(redis, prefix);
    await redis.quit();
    psql('postgres', `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  });

  const start = async (id: string): Promise<Service> => {
    const service = createService(
      loadConfig({
        SYMBOLS: SYMBOLS.join(','),
        SOURCES: 'synthetic',
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        HISTORY_URL: PG(DB),
        CLUSTER_NAME: 'int',
        INSTANCE_ID: id,
        LEASE_TTL: '5',
        BOOTSTRAP_DAYS: '1',
        BATCH_WRITE_INTERVAL: '0.5',
      }),
    );
    services.push(service);
    await service.sidecar.start({ loop: false });
    return service;
  };
  const get = async (s: Service, url: string) => s.app.inject({ method: 'GET', url });
  /** One cycle on each, then wait for the takeovers they started. */
  const cycle = async (...list: Service[]) => {
    for (const s of list) await s.sidecar.runCycle();
    await Promise.all(list.map((s) => s.sidecar.cluster!.settled()));
  };

  it('refuses CLUSTER_NAME without Redis, naming the variable', () => {
    let err: unknown;
    try {
      loadConfig({ CLUSTER_NAME: 'x', SOURCES: 'synthetic' });
    } catch (e) {
      err = e;
    }
    expect(isSidecarError(err)).toBe(true);
    expect((err as Error).message).toMatch(/CLUSTER_NAME="x": set together with REDIS_URL/);
  });

  it('answers /cluster with 404 and a clear error outside cluster mode', async () => {
    const single = createService(
      loadConfig({ SOURCES: 'synthetic', SQLITE_PATH: ':memory:', BOOTSTRAP_DAYS: '0' }),
    );
    try {
      const res = await get(single, '/cluster');
      expect(res.statusCode).toBe(404);
      expect(res.json().error.message).toMatch(/not in cluster mode: set CLUSTER_NAME/);
      expect(single.sidecar.health().cluster).toBeUndefined();
    } finally {
      await single.close();
    }
  });

  it('splits the symbols, serves every symbol from every instance, and hands over on stop', async () => {
    const a = await start('int-a');
    const b = await start('int-b');
    for (let i = 0; i < 4; i++) await cycle(a, b);
    const ownedA = a.sidecar.health().cluster!.owned;
    const ownedB = b.sidecar.health().cluster!.owned;
    expect([...ownedA, ...ownedB].sort()).toEqual([...SYMBOLS].sort()); // each symbol once
    expect(ownedA.length).toBeGreaterThan(0);
    expect(ownedB.length).toBeGreaterThan(0);
    expect(a.sidecar.health().cluster).toMatchObject({ cluster: 'int', instanceId: 'int-a', members: 2 });

    // The takeover backfilled a day from the provider into PostgreSQL (only the owner did).
    const stored = Number(psql(DB, `SELECT count(*) FROM bars WHERE symbol = '${ownedB[0]}'`));
    expect(stored).toBeGreaterThanOrEqual(1440);

    const view = (await get(a, '/cluster')).json<ClusterView>();
    expect(view.instanceId).toBe('int-a');
    expect(view.members.map((m) => [m.id, m.symbols.sort()]).sort()).toEqual(
      [
        ['int-a', [...ownedA].sort()],
        ['int-b', [...ownedB].sort()],
      ].sort(),
    );
    for (const l of view.leases) expect(l.expiresAt).toBeGreaterThan(Date.now());

    // A symbol B owns, read through A: bars from the shared cache, B's signal and features.
    const foreign = ownedB[0] ?? '';
    await cycle(a); // A mirrors at the start of its cycle: now B's latest
    const bars = (await get(a, `/bars/${foreign}?limit=10`)).json();
    expect(bars.bars).toHaveLength(10);
    const signalA = (await get(a, `/signals/${foreign}`)).json();
    const signalB = (await get(b, `/signals/${foreign}`)).json();
    expect(signalA.generatedAt).toBe(signalB.generatedAt);
    expect(signalA.dataTs).toBe(signalB.dataTs);
    expect((await get(a, `/features/${foreign}`)).json().values).toEqual(
      (await get(b, `/features/${foreign}`)).json().values,
    );
    // Only the owner fetched it: A's collect stage never asked its source for B's symbols.
    expect(a.sidecar.symbolState(foreign)!.lastAttempts).toEqual([]);

    // B's heartbeat vanishes (as after a pause longer than LEASE_TTL): the fence refuses B's writes,
    // B stops collecting, and once its next round has confirmed the leases it takes the symbols over
    // again (backfilling from their last stored bar) before polling them.
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(await redis.zrem(`${prefix}{cluster:int}:members`, 'int-b')).toBe(1);
    } finally {
      await redis.quit();
    }
    expect(await b.sidecar.cluster!.fence(ownedB)).toEqual(new Set());
    expect(ownedB.some((s) => b.sidecar.cluster!.isCollecting(s))).toBe(false);
    await cycle(b);
    expect(ownedB.every((s) => b.sidecar.cluster!.isCollecting(s))).toBe(true);
    expect([...(await b.sidecar.cluster!.fence(ownedB))].sort()).toEqual([...ownedB].sort());

    // Graceful stop of B: its leases are released at once; A takes everything on its next cycle.
    await b.close();
    await cycle(a);
    expect(a.sidecar.health().cluster!.owned.sort()).toEqual([...SYMBOLS].sort());
    expect(a.sidecar.health().cluster!.takingOver).toEqual([]);
    await cycle(a);
    expect(a.sidecar.symbolState(foreign)!.lastAttempts.map((x) => x.source)).toEqual(['synthetic']);
  });
});
