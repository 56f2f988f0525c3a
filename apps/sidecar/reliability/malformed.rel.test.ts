// The malformed-payload corpus of @pipeline/test-utils (35 payloads damaged from real recordings of
// Yahoo, Alpha Vantage, Twelve Data and Polygon). Each is served by a real HTTP server as the answer
// of the first source in the fallback order; the second source is a healthy provider-format server.
// The service must not crash, must not store or cache a bar that breaks the bar invariants, and the
// fallback's good bars must keep arriving.
import { alignTs, type Bar, type SourceName } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { startProviderServer, type ProviderServer } from '@pipeline/fetchers/testing';
import { cleanupTempDirs, getFreePort, malformedCorpus, startFixtureServer, tempSqlitePath, type FixtureServer, type MalformedPayload } from '@pipeline/test-utils';
import { loadConfig } from '../src/config';
import { createService } from '../src/service';
import { type HealthReport } from '../src/sidecar';
import { barViolations, readStoredBars } from './helpers';

const SYMBOL = 'EURUSD';
const CYCLES = 3;
const corpus = malformedCorpus();

/** The environment that makes `provider` the first source, answered by `url`. */
function primaryEnv(provider: MalformedPayload['provider'], url: string, deadWsUrl: string): Record<string, string> {
  switch (provider) {
    case 'yahoo':
      return { YAHOO_BASE_URL: url };
    case 'alphavantage':
      return { ALPHAVANTAGE_API_KEY: 'reliability-av-key', ALPHAVANTAGE_BASE_URL: url };
    case 'twelvedata':
      return { TWELVEDATA_API_KEY: 'reliability-td-key', TWELVEDATA_BASE_URL: url };
    case 'polygon':
      // A Polygon key also starts the WebSocket stream: point it at a closed local port so nothing
      // leaves the machine and polling (the path under test) carries the symbol.
      return { POLYGON_API_KEY: 'reliability-poly-key', POLYGON_BASE_URL: url, POLYGON_WS_URL: deadWsUrl };
  }
}

describe('malformed provider payloads', () => {
  let bad: FixtureServer;
  let yahooGood: ProviderServer;
  let avGood: ProviderServer;
  let deadWsUrl: string;
  let current: MalformedPayload = corpus[0];
  const summary: { id: string; outcome: string; primaryBarsStored: number }[] = [];

  beforeAll(async () => {
    bad = await startFixtureServer(() => current.reply);
    yahooGood = await startProviderServer({ fetcher: createSyntheticFetcher() });
    avGood = await startProviderServer({ fetcher: createSyntheticFetcher() });
    deadWsUrl = `ws://127.0.0.1:${await getFreePort()}`;
  });
  afterAll(async () => {
    await Promise.all([bad.close(), yahooGood.close(), avGood.close()]);
    cleanupTempDirs();
    // Which payloads a source answered with data anyway (bars that keep the invariants, e.g. old
    // recorded bars with a dropped row), for the README's record.
    console.log(summary.map((s) => `${s.id.padEnd(34)} ${s.outcome.padEnd(40)} stored from primary: ${s.primaryBarsStored}`).join('\n'));
  });

  it('has at least 30 payloads from all four providers', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(30);
    expect(new Set(corpus.map((p) => p.provider))).toEqual(new Set(['yahoo', 'alphavantage', 'twelvedata', 'polygon']));
  });

  it.each(corpus.map((p) => [p.id, p] as const))('%s: no crash, nothing invalid stored or cached, the fallback still delivers', async (_id, payload) => {
    current = payload;
    const primary: SourceName = payload.provider;
    const fallback: SourceName = primary === 'yahoo' ? 'alphavantage' : 'yahoo';
    const sqlitePath = tempSqlitePath('malformed');
    const served = bad.requests.length;
    const service = createService(
      loadConfig({
        SYMBOLS: SYMBOL,
        SOURCES: `${primary},${fallback}`,
        YAHOO_BASE_URL: yahooGood.url,
        ALPHAVANTAGE_API_KEY: 'reliability-av-key',
        ALPHAVANTAGE_BASE_URL: avGood.url,
        ...primaryEnv(primary, bad.url, deadWsUrl),
        SQLITE_PATH: sqlitePath,
        BOOTSTRAP_DAYS: '0',
        STALE_AFTER: '10',
      }),
    );
    let cached: Bar[] = [];
    try {
      await service.sidecar.start({ loop: false });
      for (let i = 0; i < CYCLES; i++) {
        const report = await service.sidecar.runCycle();
        expect(report.ok + report.failed).toBe(1);
        const h = await service.app.inject({ method: 'GET', url: '/health' });
        expect(h.statusCode).toBe(200);
      }
      // The damaged answer really was asked for (the primary was not skipped by mistake).
      expect(bad.requests.length).toBeGreaterThan(served);
      const state = service.sidecar.symbolState(SYMBOL)!;
      const h = (await service.app.inject({ method: 'GET', url: '/health' })).json() as HealthReport;
      summary.push({ id: payload.id, outcome: state.lastAttempts.map((a) => `${a.source}=${a.outcome}${a.code ? `(${a.code})` : ''}`).join(' '), primaryBarsStored: 0 });
      // The fallback's good bars arrive: the newest bar is this minute's, from the fallback source.
      expect(h.symbols[0]).toMatchObject({ symbol: SYMBOL, stale: false, source: fallback });
      const now = Date.now();
      cached = await service.deps.cache.latestBars(SYMBOL, '1m', 5000);
      expect(cached.at(-1)).toMatchObject({ source: fallback });
      expect(cached.at(-1)!.ts).toBeGreaterThanOrEqual(alignTs(now, '1m') - 60_000);
      for (const b of cached) expect({ bar: b, violations: barViolations(b, now) }).toEqual({ bar: b, violations: [] });
    } finally {
      await service.close();
    }
    const stored = await readStoredBars(sqlitePath, SYMBOL, '1m');
    expect(stored.length).toBeGreaterThan(0);
    const now = Date.now();
    for (const b of stored) expect({ bar: b, violations: barViolations(b, now) }).toEqual({ bar: b, violations: [] });
    summary.at(-1)!.primaryBarsStored = stored.filter((b) => b.source === primary).length;
  });
});
