// Cluster mode with a symbol the symbol mapper does not know (ADAUSD): it is taken over and collected
// as in single-instance mode (the providers answer symbol_not_found; it is polled every cycle and
// stays without data), not retried as a failed takeover for ever. One service wired from the
// environment against a Yahoo-format server (its fetcher asks the mapper for the provider spelling),
// the machine's Redis (own key prefix) and PostgreSQL (own database), driven cycle by cycle.
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { systemClock } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { startProviderServer, type ProviderServer } from '@pipeline/fetchers/testing';
import { TEST_REDIS_URL, deleteRedisPrefix, uniqueRedisPrefix } from '@pipeline/test-utils';
import { loadConfig } from '../wiring/config';
import { createService, type Service } from '../wiring/service';

const SYMBOLS = ['BTCUSD', 'ADAUSD'];
const DB = `pipeline_cluster_unknown_${process.pid}_${Date.now() % 1e6}`;
const PG = (db: string) => `postgres://postgres@127.0.0.1:5432/${db}`;
const psql = (db: string, sql: string): string =>
  execFileSync('psql', ['-X', '-At', PG(db), '-c', sql], { encoding: 'utf8' });

jest.setTimeout(60_000);

describe('cluster mode: a symbol the mapper does not know', () => {
  let prefix: string;
  let server: ProviderServer;
  const services: Service[] = [];

  beforeAll(async () => {
    server = await startProviderServer({ fetcher: createSyntheticFetcher({ clock: systemClock }) });
    prefix = uniqueRedisPrefix('cluster-unknown');
    psql('postgres', `CREATE DATABASE ${DB}`);
  });
  afterAll(async () => {
    for (const s of services) await s.close().catch(() => undefined);
    await server?.close();
    const redis = new Redis(TEST_REDIS_URL);
    await deleteRedisPrefix(redis, prefix);
    await redis.quit();
    psql('postgres', `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  });

  it('takes ADAUSD over and collects it', async () => {
    const service = createService(
      loadConfig({
        SYMBOLS: SYMBOLS.join(','),
        SOURCES: 'yahoo',
        YAHOO_BASE_URL: server.url,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        HISTORY_URL: PG(DB),
        CLUSTER_NAME: 'unknown',
        INSTANCE_ID: 'unknown-a',
        LEASE_TTL: '5',
        BOOTSTRAP_DAYS: '1',
        BATCH_WRITE_INTERVAL: '0.5',
      }),
    );
    services.push(service);
    await service.sidecar.start({ loop: false });
    const cluster = service.sidecar.cluster;
    if (!cluster) throw new Error('not in cluster mode');
    for (let i = 0; i < 3; i++) {
      await service.sidecar.runCycle();
      await cluster.settled();
    }
    expect(cluster.health().owned.sort()).toEqual([...SYMBOLS].sort());
    expect(cluster.health().takingOver).toEqual([]);
    expect(cluster.isCollecting('ADAUSD')).toBe(true);
    expect(cluster.isCollecting('BTCUSD')).toBe(true);
    expect(cluster.takingOver()).toBe(false); // gap repair and late finalisation run again
    // The known symbol's takeover backfilled a day from the provider; the unknown one stored nothing.
    expect(Number(psql(DB, `SELECT count(*) FROM bars WHERE symbol = 'BTCUSD'`))).toBeGreaterThanOrEqual(
      1440,
    );
    expect(Number(psql(DB, `SELECT count(*) FROM bars WHERE symbol = 'ADAUSD'`))).toBe(0);
    // Polled like any collected symbol (whenever the request planner grants it a request): the
    // provider's answer is symbol_not_found, as in single-instance mode.
    const attemptsOf = (symbol: string) => service.sidecar.symbolState(symbol)?.lastAttempts ?? [];
    const deadline = Date.now() + 20_000;
    while (attemptsOf('ADAUSD').length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      await service.sidecar.runCycle();
    }
    const attempts = attemptsOf('ADAUSD');
    expect(attempts.map((x) => [x.source, x.outcome, x.code])).toEqual([
      ['yahoo', 'failed', 'FETCH_SYMBOL_NOT_FOUND'],
    ]);
    expect(cluster.health().takingOver).toEqual([]);
  });
});
