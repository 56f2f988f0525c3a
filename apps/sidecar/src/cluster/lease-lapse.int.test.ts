// Cluster mode when Redis is unreachable for longer than LEASE_TTL (in process, a private
// redis-server on a free port that the test kills and restarts; the machine's Redis is not touched):
// once no coordinator round has succeeded for a whole LEASE_TTL, the instance stops collecting at once
// (its leases have lapsed; whatever it polled the fence would refuse) rather than when each symbol's
// next poll reaches the fence, and each symbol is taken over again once Redis answers.
import { execFileSync } from 'node:child_process';
import { startRedisServer, type RedisServerHandle } from '@pipeline/test-utils';
import { loadConfig } from '../wiring/config';
import { createService, type Service } from '../wiring/service';

const SYMBOLS = ['BTCUSD', 'ETHUSD', 'SOLUSD'];
const DB = `pipeline_lease_lapse_${process.pid}_${Date.now() % 1e6}`;
const PG = (db: string) => `postgres://postgres@127.0.0.1:5432/${db}`;
const psql = (db: string, sql: string): string =>
  execFileSync('psql', ['-X', '-At', PG(db), '-c', sql], { encoding: 'utf8' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

jest.setTimeout(60_000);

describe('cluster mode: leases lapse while Redis is unreachable', () => {
  let redis: RedisServerHandle;
  let service: Service | undefined;

  beforeAll(async () => {
    redis = await startRedisServer();
    psql('postgres', `CREATE DATABASE ${DB}`);
  });
  afterAll(async () => {
    await service?.close().catch(() => undefined);
    await redis?.stop();
    psql('postgres', `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  });

  it('stops collecting once no round has succeeded for LEASE_TTL, and takes every symbol over again after', async () => {
    service = createService(
      loadConfig({
        SYMBOLS: SYMBOLS.join(','),
        SOURCES: 'synthetic',
        REDIS_URL: redis.url,
        HISTORY_URL: PG(DB),
        CLUSTER_NAME: 'lapse',
        INSTANCE_ID: 'lapse-a',
        LEASE_TTL: '1',
        BOOTSTRAP_DAYS: '1',
      }),
    );
    const { sidecar } = service;
    await sidecar.start({ loop: false });
    const cluster = sidecar.cluster;
    if (!cluster) throw new Error('not in cluster mode');
    const cycle = async () => {
      await sidecar.runCycle();
      await cluster.settled();
    };
    for (let i = 0; i < 3; i++) await cycle();
    expect(SYMBOLS.every((s) => cluster.isCollecting(s))).toBe(true);

    await redis.kill();
    // The coordinator round alone (no poll, so no fence call: as for a symbol whose next poll the
    // budget puts seconds away). Within LEASE_TTL of the last good round the leases may still be
    // valid: the symbols stay collected (a Redis blip shorter than the TTL costs nothing).
    await cluster.beforeCycle();
    expect(sidecar.health().cluster?.lastTickError).not.toBeNull();
    expect(SYMBOLS.every((s) => cluster.isCollecting(s))).toBe(true);

    // A whole LEASE_TTL without a good round: collection stops before any poll.
    await sleep(1_100);
    await cluster.beforeCycle();
    const during = sidecar.health().cluster;
    expect(SYMBOLS.some((s) => cluster.isCollecting(s))).toBe(false);
    expect([...(during?.owned ?? [])].sort()).toEqual([...SYMBOLS].sort());
    expect([...(during?.takingOver ?? [])].sort()).toEqual([...SYMBOLS].sort());

    await redis.restart();
    for (let i = 0; i < 20 && !SYMBOLS.every((s) => cluster.isCollecting(s)); i++) {
      await cycle();
      await sleep(100);
    }
    expect(SYMBOLS.every((s) => cluster.isCollecting(s))).toBe(true);
    expect(sidecar.health().cluster).toMatchObject({ lastTickError: null, takingOver: [] });
  });
});
