import { ManualClock, isFetchError, type Bar } from '@pipeline/core';
import { createAlphaVantageFetcher } from '../alphavantage/fetcher';
import { createSyntheticFetcher } from '../synthetic/fetcher';
import { createYahooFetcher } from '../yahoo/fetcher';
import { startProviderServer } from '../testing';

const T0 = Date.UTC(2024, 2, 5, 0, 0);
const H = 3_600_000;
const strip = (b: Bar) => [b.ts, b.open, b.high, b.low, b.close, b.volume];

describe('startProviderServer (the ./testing subpath)', () => {
  it('serves synthetic bars in Yahoo format that the real Yahoo fetcher reads back identically', async () => {
    const clock = new ManualClock(T0 + 10 * H + 30 * 60_000);
    const synthetic = createSyntheticFetcher({ clock });
    const srv = await startProviderServer({ fetcher: synthetic, clock });
    const yahoo = createYahooFetcher({ baseUrl: srv.url, clock });
    try {
      const want = await synthetic.fetchHistory({
        symbol: 'EURUSD',
        timeframe: '1m',
        from: T0 + 9 * H,
        to: T0 + 10 * H,
      });
      const got = await yahoo.fetchHistory({
        symbol: 'EURUSD',
        timeframe: '1m',
        from: T0 + 9 * H,
        to: T0 + 10 * H,
      });
      expect(decodeURIComponent(srv.requests[0]!.path)).toBe('/v8/finance/chart/EURUSD=X');
      expect(got.map(strip)).toEqual(want.map(strip));
      const latest = await yahoo.fetchLatest({ symbol: 'EURUSD', timeframe: '1m', limit: 3 });
      expect(latest.map((b) => b.final)).toEqual([true, true, false]);
      const quote = await yahoo.fetchQuote('EURUSD');
      expect(quote.price).toBe(latest.at(-1)!.close);
    } finally {
      await yahoo.close();
      await srv.close();
    }
  });

  it('lets the Yahoo fetcher resample 4h bars from served 1h bars', async () => {
    const clock = new ManualClock(T0 + 12 * H);
    const hours: Bar[] = Array.from({ length: 12 }, (_, i) => ({
      symbol: 'AAPL',
      timeframe: '1h',
      ts: T0 + i * H,
      open: 100 + i,
      high: 101 + i,
      low: 99 + i,
      close: 100.5 + i,
      volume: 10,
      source: 'synthetic',
      final: true,
      quality: 1,
    }));
    const srv = await startProviderServer({ bars: hours, clock });
    const yahoo = createYahooFetcher({ baseUrl: srv.url, clock });
    try {
      const fours = await yahoo.fetchHistory({ symbol: 'AAPL', timeframe: '4h', from: T0, to: T0 + 12 * H });
      expect(srv.requests.at(-1)!.query.get('interval')).toBe('60m');
      expect(fours.map((b) => [b.ts - T0, b.open, b.high, b.low, b.close, b.volume, b.timeframe])).toEqual([
        [0, 100, 104, 99, 103.5, 40, '4h'],
        [4 * H, 104, 108, 103, 107.5, 40, '4h'],
        [8 * H, 108, 112, 107, 111.5, 40, '4h'],
      ]);
      expect(fours.every((b) => b.final)).toBe(true);
    } finally {
      await yahoo.close();
      await srv.close();
    }
  });

  it("serves Alpha Vantage FX_INTRADAY (start-stamped like today's API, UTC) that the real AV fetcher reads back", async () => {
    const clock = new ManualClock(T0 + 10 * H);
    const synthetic = createSyntheticFetcher({ clock });
    const srv = await startProviderServer({ fetcher: synthetic, clock });
    const av = createAlphaVantageFetcher({ apiKey: 'k', baseUrl: srv.url, clock });
    try {
      const got = await av.fetchLatest({ symbol: 'EURUSD', timeframe: '5m', limit: 10 });
      const want = await synthetic.fetchHistory({
        symbol: 'EURUSD',
        timeframe: '5m',
        from: T0 + 10 * H - 50 * 60_000,
        to: T0 + 10 * H,
      });
      expect(got.map(strip)).toEqual(want.map((b) => [b.ts, b.open, b.high, b.low, b.close, 0]));
    } finally {
      await av.close();
      await srv.close();
    }
  });

  it('injects faults for a number of requests, then serves data again; unknown symbols 404', async () => {
    const clock = new ManualClock(T0 + H);
    const srv = await startProviderServer({
      fetcher: createSyntheticFetcher({ clock, defaultStartPrice: null }),
      clock,
    });
    const yahoo = createYahooFetcher({ baseUrl: srv.url, clock, timeoutMs: 200 });
    try {
      srv.setFault({ status: 429, body: 'Too Many Requests', times: 1 });
      const limited = await yahoo.fetchLatest({ symbol: 'EURUSD', timeframe: '1m' }).catch((e: unknown) => e);
      expect(isFetchError(limited) && limited.kind).toBe('rate_limited');
      const y2 = createYahooFetcher({ baseUrl: srv.url, clock, timeoutMs: 200 });
      expect((await y2.fetchLatest({ symbol: 'EURUSD', timeframe: '1m', limit: 5 })).length).toBe(5);
      srv.setFault({ hang: true, times: 1 });
      const hung = await y2.fetchLatest({ symbol: 'EURUSD', timeframe: '1m' }).catch((e: unknown) => e);
      expect(isFetchError(hung) && hung.kind).toBe('transient');
      srv.setFault(null);
      const unknown = await y2.fetchLatest({ symbol: 'ZZZZ', timeframe: '1m' }).catch((e: unknown) => e);
      expect(isFetchError(unknown) && unknown.kind).toBe('symbol_not_found');
      await y2.close();
    } finally {
      await yahoo.close();
      await srv.close();
    }
  });
});
