// One price path, two providers' formats: a Yahoo-format server answering as Yahoo does (chart values
// are float32 numbers widened to double) and an Alpha Vantage-format server answering as today's API
// does (decimal strings, intraday bars stamped with their START). Two sidecars, one per source, each
// with its real fetcher, bootstrap and loop; for every closed minute both hold, the Alpha Vantage
// bar equals the Yahoo bar (issue 11: AV bars one interval early, Yahoo float32 artefacts).
import { systemClock, type Bar, type Fetcher, type Scheduler } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { startProviderServer, type ProviderServer } from '@pipeline/fetchers/testing';
import { cleanupTempDirs, tempSqlitePath } from '@pipeline/test-utils';
import { loadConfig } from './wiring/config';
import { createService, type Service } from './wiring/service';

/**
 * Decimal places quoted per symbol: 5 for FX, 3 for a stock near 165 (float32 holds about 7
 * significant digits, so a float32 feed cannot carry more).
 */
const DECIMALS: Record<string, number> = { EURUSD: 5, AAPL: 3 };

/**
 * Real time, shifted to a Wednesday 18:00:30 UTC (13:00 in New York): FX and the US session are
 * open and the last day holds both, whatever day the test runs.
 */
const shift = Date.UTC(2024, 0, 3, 18, 0, 30) - Date.now();
const clock: Scheduler = { now: () => Date.now() + shift, setTimeout: systemClock.setTimeout };

/** The synthetic walk with prices as a provider quotes them, optionally widened from float32. */
function quotedPath(float32: boolean): Fetcher {
  const inner = createSyntheticFetcher({ clock });
  const quote = (b: Bar): Bar => {
    const q = (v: number) => {
      const d = Number(v.toFixed(DECIMALS[b.symbol] ?? 5));
      return float32 ? Math.fround(d) : d;
    };
    return { ...b, open: q(b.open), high: q(b.high), low: q(b.low), close: q(b.close) };
  };
  return {
    source: inner.source,
    capabilities: inner.capabilities,
    fetchLatest: async (r) => (await inner.fetchLatest(r)).map(quote),
    fetchHistory: async (r) => (await inner.fetchHistory(r)).map(quote),
    budget: () => inner.budget(),
    close: () => inner.close(),
  };
}

describe('Alpha Vantage bars equal Yahoo bars for the same minute (same price path, both formats)', () => {
  let yahoo: ProviderServer;
  let av: ProviderServer;
  let yahooSide: Service;
  let avSide: Service;

  // COLLECTION_INTERVAL=5 gives the breaker a 4 s timeout: the servers compute a day of the walk per answer.
  const common = {
    SYMBOLS: 'EURUSD,AAPL',
    BOOTSTRAP_DAYS: '1',
    BATCH_WRITE_INTERVAL: '3600',
    COLLECTION_INTERVAL: '5',
  };

  beforeAll(async () => {
    yahoo = await startProviderServer({ fetcher: quotedPath(true), clock });
    av = await startProviderServer({ fetcher: quotedPath(false), clock });
    yahooSide = createService(
      loadConfig({
        ...common,
        SOURCES: 'yahoo',
        YAHOO_BASE_URL: yahoo.url,
        SQLITE_PATH: tempSqlitePath('y'),
      }),
      { scheduler: clock },
    );
    avSide = createService(
      loadConfig({
        ...common,
        SOURCES: 'alphavantage',
        ALPHAVANTAGE_API_KEY: 'test-av-key-123',
        ALPHAVANTAGE_BASE_URL: av.url,
        SQLITE_PATH: tempSqlitePath('av'),
      }),
      { scheduler: clock },
    );
    await Promise.all([yahooSide.sidecar.start({ loop: false }), avSide.sidecar.start({ loop: false })]);
    await Promise.all([yahooSide.sidecar.runCycle(), avSide.sidecar.runCycle()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([yahooSide.close(), avSide.close()]);
    await Promise.all([yahoo.close(), av.close()]);
    cleanupTempDirs();
  });

  it.each(['EURUSD', 'AAPL'])('%s: every closed minute held by both is the same bar', async (symbol) => {
    const closedBefore = Math.floor(clock.now() / 60_000) * 60_000 - 60_000;
    const fromYahoo = (await yahooSide.sidecar.bars(symbol, '1m', 500)).bars;
    const fromAv = (await avSide.sidecar.bars(symbol, '1m', 500)).bars;
    const yahooAt = new Map(fromYahoo.map((b) => [b.ts, b]));
    const both = fromAv.filter((b) => b.ts < closedBefore && yahooAt.has(b.ts));
    expect(both.length).toBeGreaterThan(100);
    const fx = symbol === 'EURUSD';
    for (const a of both) {
      const y = yahooAt.get(a.ts)!;
      expect({ ts: a.ts, open: a.open, high: a.high, low: a.low, close: a.close }).toEqual({
        ts: y.ts,
        open: y.open,
        high: y.high,
        low: y.low,
        close: y.close,
      });
      // Alpha Vantage's FX series carries no volume; its stock series does, and it matches.
      if (!fx) expect(a.volume).toBe(y.volume);
      expect(a.source).toBe('alphavantage');
      expect(y.source).toBe('yahoo');
    }
    // The prices are the decimals the provider meant, not float32 artefacts.
    for (const y of fromYahoo.slice(-20)) expect(Number(y.close.toFixed(DECIMALS[symbol]))).toBe(y.close);
  });
});
