import { type Bar } from '@pipeline/core';
import { contractBar } from '@pipeline/test-utils';
import pg from 'pg';
import { startPrivatePostgres, type PrivatePostgres } from '../test/private-postgres';
import { isPgStoreError, type PgStoreError } from './errors';
import { createPgStore, type PgStore } from './pg-store';

// A PostgreSQL restart mid-write, on a private server (never the machine's own): the postmaster is
// SIGKILLed while a flush is running, writes continue while it is down, and after the restart every
// bar arrives exactly once with its latest version.
jest.setTimeout(90_000);

let server: PrivatePostgres;
let store: PgStore | null = null;

beforeAll(async () => {
  server = await startPrivatePostgres();
  const c = new pg.Client({ connectionString: server.adminUrl });
  await c.connect();
  await c.query('CREATE DATABASE restart_test');
  await c.end();
});
afterAll(async () => {
  await store?.close().catch(() => undefined);
  await server?.destroy();
});

const waitFor = async (cond: () => boolean, ms: number): Promise<void> => {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

it('SIGKILL of PostgreSQL mid-flush: nothing lost, nothing duplicated, health says down then ready', async () => {
  const url = `postgres://postgres:pw-never-shown@127.0.0.1:${server.port}/restart_test`;
  store = createPgStore({
    url,
    flushIntervalMs: 200,
    retryBaseMs: 100,
    retryMaxMs: 1_000,
    connectTimeoutMs: 1_000,
    maxPending: 1_000_000,
  });
  const errors: PgStoreError[] = [];
  store.onError((e) => errors.push(e));
  await store.ready();

  // 60,000 bars over 3 symbols, several of them rewritten later (the forming bar becoming final).
  const expected = new Map<string, Bar>();
  const put = (bars: Bar[]): void => {
    store!.write(bars);
    for (const b of bars) expected.set(`${b.symbol}|${b.ts}`, b);
  };
  for (const symbol of ['EURUSD', 'XAUUSD', 'NAS100']) {
    put(Array.from({ length: 20_000 }, (_, i) => contractBar(i, { symbol, final: i % 100 !== 99 })));
  }
  const flushing = store.flush();
  // Kill once the flush transaction is running on the server.
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  const until = Date.now() + 10_000;
  for (;;) {
    const { rows } = await admin.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'restart_test' AND query LIKE 'INSERT INTO%'",
    );
    if (rows[0].n > 0 || Date.now() > until) break;
  }
  await admin.end().catch(() => undefined);
  await server.kill();
  const failure = await flushing.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isPgStoreError(failure, 'PG_FLUSH_FAILED')).toBe(true);
  expect(store.stats().pending).toBe(60_000);

  // Down: writes keep being buffered (new bars and a rewrite of bars the failed flush carried).
  put(Array.from({ length: 5_000 }, (_, i) => contractBar(20_000 + i, { symbol: 'EURUSD' })));
  put(
    Array.from({ length: 100 }, (_, i) =>
      contractBar(i * 100 + 99, { symbol: 'XAUUSD', close: 1.5, high: 1.6 }),
    ),
  );
  await waitFor(() => store!.health().status === 'down', 10_000);
  const health = store.health();
  expect(health.lastError).toBeTruthy();
  expect(store.stats().pending).toBe(65_000);
  // Let a few retries fail against the dead server.
  const failedBefore = store.stats().failedFlushes;
  await waitFor(() => store!.stats().failedFlushes >= failedBefore + 2, 10_000);

  await server.start();
  await waitFor(() => store!.stats().pending === 0, 30_000);
  expect(store.health()).toEqual({ status: 'ready' });

  const check = new pg.Client({ connectionString: url.replace(':pw-never-shown@', '@') });
  await check.connect();
  const { rows: dup } = await check.query(
    'SELECT symbol, timeframe, ts, count(*) AS n FROM bars GROUP BY 1, 2, 3 HAVING count(*) > 1',
  );
  const { rows: total } = await check.query('SELECT count(*)::int AS n FROM bars');
  await check.end();
  expect(dup).toEqual([]);
  expect(total[0].n).toBe(expected.size);
  for (const symbol of ['EURUSD', 'XAUUSD', 'NAS100']) {
    const stored = await store.latest(symbol, '1m', 1_000_000);
    const want = [...expected.values()].filter((b) => b.symbol === symbol).sort((a, b) => a.ts - b.ts);
    expect(stored).toEqual(want);
  }
  const everything = JSON.stringify({ health, errors: errors.map((e) => [e.message, String(e.cause)]) });
  expect(everything).not.toContain('pw-never-shown');
  expect(errors.every((e) => e.code === 'PG_FLUSH_FAILED')).toBe(true);
  await store.close();
  store = null;
});
