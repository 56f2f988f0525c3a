// End to end: the real fetchers over HTTP against local servers answering in Yahoo's and Alpha
// Vantage's formats, a real Redis (own key prefix), a real SQLite file, the HTTP API by inject().
import { TIMEFRAME_MS, alignTs } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { startProviderServer, type ProviderServer } from '@pipeline/fetchers/testing';
import { lintMetricsText } from '@pipeline/metrics';
import { createSqliteStore } from '@pipeline/sqlite-store';
import {
  TEST_REDIS_URL,
  cleanupTempDirs,
  deleteRedisPrefix,
  openMarketClock,
  tempSqlitePath,
  uniqueRedisPrefix,
} from '@pipeline/test-utils';
import { Redis } from 'ioredis';
import { loadConfig } from './wiring/config';
import { createService, type Service } from './wiring/service';
import { at, defined } from '../test/at';

const TOKEN = 'e2e-token-0123456789abcdef';
const BOOTSTRAP_DAYS = 1;

describe('sidecar end to end (provider-format servers, Redis, SQLite)', () => {
  // FX symbols (EURUSD, XAUUSD) trade Sunday 22:00 to Friday 22:00 UTC, and the sidecar counts closed
  // hours as no gap: the service, the servers and the test share one real-time clock, the wall clock
  // on a weekday and shifted back by whole days at the weekend, so that the last BOOTSTRAP_DAYS and
  // the test's run were open, whatever the day it runs.
  const clock = openMarketClock({ lookbackMs: BOOTSTRAP_DAYS * 86_400_000 });
  // The servers serve a deterministic synthetic walk; a second copy of the same walk tells the
  // test exactly what the servers served.
  const truth = createSyntheticFetcher({ clock });
  let yahoo: ProviderServer;
  let av: ProviderServer;
  let service: Service;
  let redis: Redis;
  const prefix = uniqueRedisPrefix('sidecar-e2e');
  const sqlitePath = tempSqlitePath('e2e');

  beforeAll(async () => {
    yahoo = await startProviderServer({ fetcher: createSyntheticFetcher({ clock }), clock });
    av = await startProviderServer({ fetcher: createSyntheticFetcher({ clock }), clock });
    redis = new Redis(TEST_REDIS_URL);
    const config = loadConfig({
      SYMBOLS: 'EURUSD,XAUUSD',
      SOURCES: 'yahoo,alphavantage',
      ALPHAVANTAGE_API_KEY: 'test-av-key-123',
      YAHOO_BASE_URL: yahoo.url,
      ALPHAVANTAGE_BASE_URL: av.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      REDIS_POOL_SIZE: '2',
      SQLITE_PATH: sqlitePath,
      BOOTSTRAP_DAYS: String(BOOTSTRAP_DAYS),
      // Short enough for the stale test to wait it out, long enough for a loaded machine between tests.
      STALE_AFTER: '3',
      BATCH_WRITE_INTERVAL: '3600',
      API_TOKEN: TOKEN,
      BROKER: 'oanda',
    });
    service = createService(config, { scheduler: clock });
    await service.sidecar.start({ loop: false });
  });

  afterAll(async () => {
    await service.close();
    await Promise.all([yahoo.close(), av.close()]);
    await deleteRedisPrefix(redis, prefix);
    redis.disconnect();
    cleanupTempDirs();
  });

  const get = (url: string) =>
    service.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });

  it('bootstraps a day of history and serves bars equal to what the provider served', async () => {
    const report = await service.sidecar.runCycle();
    expect(report).toMatchObject({ ok: 2, failed: 0 });
    const body = (await get('/bars/EUR_USD?limit=50')).json();
    expect(body.count).toBe(50);
    const from = body.bars[0].ts as number;
    const expected = await truth.fetchHistory({
      symbol: 'EURUSD',
      timeframe: '1m',
      from,
      to: body.bars[49].ts + TIMEFRAME_MS['1m'],
    });
    for (let i = 0; i < 49; i++) {
      const got = body.bars[i];
      const want = expected.find((b) => b.ts === got.ts)!;
      expect(want).toBeDefined();
      expect(got.close).toBeCloseTo(want.close, 10);
      expect(got.high).toBeCloseTo(want.high, 10);
    }
    // The newest bar is the forming one of this minute.
    expect(body.bars[49].ts).toBe(alignTs(clock.now(), '1m'));
    // In Redis under the configured prefix, with the symbol in a hash tag.
    const keys = await redis.keys(`${prefix}*`);
    expect(keys.some((k) => k.includes('{EURUSD}'))).toBe(true);
  });

  it('has a signal per symbol with both symbol spellings, from warmed indicators', async () => {
    const s = (await get('/signals/EUR_USD')).json();
    expect(s).toMatchObject({ symbol: 'EURUSD', brokerSymbol: 'EUR_USD', stale: false });
    expect(s.indicators.ema26).toEqual(expect.any(Number));
    expect(s.reasons.length).toBeGreaterThan(1);
    expect((await get('/signals')).json().count).toBe(2);
  });

  /** Waits until the request planner gives every symbol its next Yahoo poll. */
  const nextYahooTurn = () =>
    new Promise((r) =>
      setTimeout(r, defined(at(service.sidecar.health().sources, 0).plan?.refreshMs, 'yahoo refreshMs') + 50),
    );

  it('falls back to the next source within the same cycle when the first fails', async () => {
    await nextYahooTurn();
    yahoo.setFault({ status: 503, body: 'unavailable' });
    const before = av.requests.length;
    const report = await service.sidecar.runCycle();
    // Alpha Vantage's budget (1 a second, 5 a minute, spread) holds one fallback request now: the
    // other symbol reports its budget skip instead of spending the minute's share at once.
    expect(report).toMatchObject({ ok: 1, failed: 1 });
    const states = ['EURUSD', 'XAUUSD'].map((s) => service.sidecar.symbolState(s)!);
    const served = states.find((s) => s.lastSource === 'alphavantage')!;
    expect(served.lastAttempts.map((a) => [a.source, a.outcome])).toEqual([
      ['yahoo', 'failed'],
      ['alphavantage', 'ok'],
    ]);
    const other = states.find((s) => s !== served)!;
    expect(other.lastAttempts.map((a) => [a.source, a.outcome])).toEqual([
      ['yahoo', 'failed'],
      ['alphavantage', 'skipped_budget'],
    ]);
    expect(av.requests.length).toBe(before + 1);
    yahoo.setFault(null);
  });

  it('marks data and signals stale when every source fails, and keeps the last bars readable', async () => {
    yahoo.setFault({ status: 500 });
    av.setFault({ status: 500 });
    // Past STALE_AFTER (3 s), and Yahoo's planned turn has come for both symbols by then.
    await new Promise((r) => setTimeout(r, 3_100));
    const report = await service.sidecar.runCycle();
    expect(report.failed).toBe(2);
    const bars = (await get('/bars/EURUSD?limit=5')).json();
    expect(bars).toMatchObject({ count: 5, stale: true });
    const s = (await get('/signals/EURUSD')).json();
    expect(s.stale).toBe(true);
    expect(s.ageMs).toBeGreaterThan(1000);
    expect(s.confidence).toBeLessThanOrEqual(s.rawConfidence * 0.5 + 1e-9);
    yahoo.setFault(null);
    av.setFault(null);
  });

  it('serves /metrics as valid Prometheus text', async () => {
    const m = await get('/metrics');
    expect(lintMetricsText(m.body)).toEqual([]);
    expect(m.body).toMatch(/^pipeline_fetch_errors_total\{source="yahoo",kind="transient"\} [1-9]\d*$/m);
  });

  it('loses nothing at shutdown: every bar served live is in the SQLite file', async () => {
    await service.sidecar.runCycle();
    const last = (await get('/bars/XAUUSD?limit=1')).json().bars[0];
    expect(service.sidecar.health().storage.pendingWrites).toBeGreaterThan(0);
    expect(service.sidecar.health().storage.cacheConnections).toEqual({ total: 2, ready: 2 });
    await service.close();
    const store = createSqliteStore({ path: sqlitePath });
    try {
      const stored = store.latest('XAUUSD', '1m', 1)[0];
      expect(stored).toMatchObject({ ts: last.ts, close: last.close, source: last.source });
    } finally {
      await store.close();
    }
  });
});
