import { ManualClock, isFetchError, type Bar, type FetchError } from '@pipeline/core';
import { isBatchFetcher } from './base/batch';
import { createPolygonFetcher } from './polygon/fetcher';
import { createSyntheticFetcher } from './synthetic/fetcher';
import { useFixtureServer } from './testing/use-fixture-server';
import { ownFixtureReply } from './testing/own-fixtures';
import { createTwelveDataFetcher } from './twelvedata/fetcher';
import { createYahooFetcher } from './yahoo/fetcher';

const bars = (v: Bar[] | FetchError | undefined): Bar[] => {
  if (!Array.isArray(v)) throw new Error(`expected bars, got ${String(v)}`);
  return v;
};
const error = (v: Bar[] | FetchError | undefined): FetchError => {
  if (!isFetchError(v)) throw new Error('expected a FetchError');
  return v;
};

describe("batch endpoints in today's shapes: one request serves many symbols", () => {
  const { srv, track } = useFixtureServer(() => ({ status: 500 }));

  it('Twelve Data time_series?symbol=A,B,C: one request, bars per symbol, a plan-403 entry as not_supported', async () => {
    srv.setHandler(() =>
      ownFixtureReply('twelvedata/batch-time_series-EURUSD-AAPL-XAUUSD-1min-2025-03-14.json'),
    );
    const td = track(
      createTwelveDataFetcher({
        apiKey: 'td-key',
        baseUrl: srv.url,
        clock: new ManualClock(Date.UTC(2025, 2, 14, 17)),
      }),
    );
    expect(isBatchFetcher(td)).toBe(true);
    expect(td.capabilities.batchLatest).toMatchObject({ costPerSymbol: 1, maxSymbols: 120 });
    const before = srv.requests.length;
    const res = await td.fetchLatestMany({
      symbols: ['EURUSD', 'AAPL', 'XAUUSD'],
      timeframe: '1m',
      limit: 3,
    });
    expect(srv.requests.length - before).toBe(1);
    expect(srv.requests.at(-1)!.query.get('symbol')).toBe('EUR/USD,AAPL,XAU/USD');
    expect(bars(res.get('EURUSD')).map((b) => b.ts)).toEqual([
      Date.UTC(2025, 2, 14, 15, 57),
      Date.UTC(2025, 2, 14, 15, 58),
      Date.UTC(2025, 2, 14, 15, 59),
    ]);
    // AAPL's rows are New York time (EDT): 11:59 = 15:59Z.
    expect(bars(res.get('AAPL')).at(-1)).toMatchObject({ ts: Date.UTC(2025, 2, 14, 15, 59), close: 213.55 });
    expect([error(res.get('XAUUSD')).kind, error(res.get('XAUUSD')).countsForBreaker]).toEqual([
      'not_supported',
      false,
    ]);
    // Three credits spent for the one request.
    expect(td.budget().perDayLeft).toBe(797);
  });

  it('Polygon multi-ticker snapshot: one request per market, the latest minute per ticker; missing and index tickers per symbol', async () => {
    srv.setHandler(() => ownFixtureReply('polygon/snapshot-tickers-AAPL-MSFT-2025-03-14.json'));
    const clock = new ManualClock(Date.UTC(2025, 2, 14, 16));
    const pg = track(createPolygonFetcher({ apiKey: 'pg-key', baseUrl: srv.url, clock }));
    expect(isBatchFetcher(pg)).toBe(true);
    const before = srv.requests.length;
    const res = await pg.fetchLatestMany({ symbols: ['AAPL', 'MSFT', 'NVDA', 'NAS100'], timeframe: '1m' });
    expect(srv.requests.length - before).toBe(1);
    const req = srv.requests.at(-1)!;
    expect([req.path, req.query.get('tickers')]).toEqual([
      '/v2/snapshot/locale/us/markets/stocks/tickers',
      'AAPL,MSFT,NVDA',
    ]);
    expect(bars(res.get('AAPL'))).toEqual([
      {
        symbol: 'AAPL',
        timeframe: '1m',
        ts: Date.UTC(2025, 2, 14, 15, 59),
        open: 213.41,
        high: 213.52,
        low: 213.39,
        close: 213.49,
        volume: 18211,
        source: 'polygon',
        final: true,
        quality: 1,
      },
    ]);
    expect(bars(res.get('MSFT'))[0]!.close).toBe(380.16);
    expect(error(res.get('NVDA')).kind).toBe('symbol_not_found');
    expect(error(res.get('NAS100')).kind).toBe('not_supported');
    const day = await pg.fetchLatestMany({ symbols: ['AAPL'], timeframe: '1d' });
    expect(bars(day.get('AAPL'))[0]).toMatchObject({
      ts: Date.UTC(2025, 2, 14),
      open: 211.25,
      close: 213.49,
      final: false,
    });
    await expect(pg.fetchLatestMany({ symbols: ['AAPL'], timeframe: '1m', limit: 5 })).rejects.toMatchObject({
      kind: 'bad_request',
    });
  });

  it('a source without a batch endpoint says so; the synthetic source has one', async () => {
    const yahoo = createYahooFetcher({ baseUrl: srv.url });
    expect(isBatchFetcher(yahoo)).toBe(false);
    expect(yahoo.capabilities.batchLatest).toBeUndefined();
    await yahoo.close();
    const syn = createSyntheticFetcher({});
    expect(isBatchFetcher(syn)).toBe(true);
    expect(syn.capabilities.batchLatest).toMatchObject({ maxSymbols: 100, costPerSymbol: 0 });
  });
});
