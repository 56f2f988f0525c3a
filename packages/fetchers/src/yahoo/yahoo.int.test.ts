import { ManualClock } from '@pipeline/core';
import { shortestFloat32Decimal } from '../base/float32';
import { createSymbolMapper } from '@pipeline/symbol-mapper';
import { fixtureReply, readFixture, type FixtureReply, type RecordedRequest } from '@pipeline/test-utils';
import { createHttpClient } from '../http/client';
import { createYahooFetcher, type YahooFetcher } from './fetcher';
import { failure } from '../testing/failure';
import { useFixtureServer } from '../testing/use-fixture-server';
import { ownFixtureReply } from '../testing/own-fixtures';

const CHART: Record<string, string> = {
  AAPL_1m: 'yahoo/chart-AAPL-1m-2024-10-02-regular-hours-with-nulls.json',
  AAPL_1d: 'yahoo/chart-AAPL-1d-2020-08-31-to-2020-11-07-split-and-dividend-events.json',
  'EURUSD=X_1d': 'yahoo/chart-EURUSD_X-1d-2020-full-year.json',
  'GC=F_1d': 'yahoo/chart-GC_F-1d-2020-01-01-to-2020-01-03.json',
  'BTC-USD_1d': 'yahoo/chart-BTC-USD-1d-2020-full-year-with-nulls.json',
  'WSU.DE_1d': 'yahoo/chart-WSU.DE-1d-2023-08-04-with-null-bar.json',
  '0P0000XTS7_1d': 'yahoo/chart-0P0000XTS7-1d-2024-09-12-mutualfund-nulls.json',
  '^VXAPL_1d': 'yahoo/chart-idx_VXAPL-1d-2020-index-no-data.json',
  TSLA_30m: 'yahoo/chart-TSLA-30m-2021-11-22-includePrePost.json',
  TSLA_60m: 'yahoo/chart-TSLA-1h-2021-11-23-period1-equals-period2-empty.json',
  BEKE_1d: 'yahoo/chart-BEKE-1d-400-data-doesnt-exist.json',
  MDLY_1d: 'yahoo/chart-MDLY-1d-404-no-data-found-delisted.json',
};
const QUOTE: Record<string, string> = {
  'EURUSD=X': 'yahoo/quote-EURUSD_X.json',
  AAPL: 'yahoo/quote-AAPL-NONEXIST-premarket-partial.json',
  NONEXIST: 'yahoo/quote-NONEXIST-empty-result.json',
};

/** Routes like Yahoo: /v8/finance/chart/{symbol}?interval=.. and /v7/finance/quote?symbols=.. */
function recorded(req: RecordedRequest): FixtureReply {
  if (req.path.startsWith('/v8/finance/chart/')) {
    const sym = decodeURIComponent(req.path.slice('/v8/finance/chart/'.length));
    const file = CHART[`${sym}_${req.query.get('interval')}`];
    return file
      ? fixtureReply(file)
      : {
          status: 404,
          body: '{"chart":{"result":null,"error":{"code":"Not Found","description":"no fixture"}}}',
        };
  }
  if (req.path === '/v7/finance/quote')
    return fixtureReply(QUOTE[req.query.get('symbols') ?? ''] ?? QUOTE.NONEXIST!);
  return { status: 404, body: 'Not Found', headers: { 'content-type': 'text/plain' } };
}

const mapper = createSymbolMapper({
  entries: [
    {
      symbol: 'WSUDE',
      assetClass: 'stock',
      base: 'WSU',
      quote: 'EUR',
      priceMultiplier: 0.01,
      providers: { yahoo: 'WSU.DE' },
    },
    {
      symbol: 'FUND1',
      assetClass: 'stock',
      base: 'FUND1',
      quote: 'USD',
      priceMultiplier: 0.01,
      providers: { yahoo: '0P0000XTS7' },
    },
    {
      symbol: 'VXAPL',
      assetClass: 'index',
      base: 'VXAPL',
      quote: 'USD',
      priceMultiplier: 0.01,
      providers: { yahoo: '^VXAPL' },
    },
  ],
});

describe('Yahoo fetcher against recorded responses on a real HTTP server', () => {
  const { srv } = useFixtureServer(recorded);
  let clock: ManualClock;
  let yahoo: YahooFetcher;
  beforeEach(() => {
    srv.setHandler(recorded);
    clock = new ManualClock(Date.UTC(2024, 9, 4, 12, 0, 0));
    yahoo = createYahooFetcher({ baseUrl: srv.url, clock, symbolMapper: mapper, timeoutMs: 400 });
  });
  afterEach(async () => {
    await yahoo.close();
  });

  it('AAPL 1m: 389 bars of 2024-10-02, null minute skipped and counted, trailing close snapshot dropped', async () => {
    const from = Date.UTC(2024, 9, 2);
    const bars = await yahoo.fetchHistory({ symbol: 'AAPL', timeframe: '1m', from, to: from + 86_400_000 });
    const q = srv.requests.at(-1)!.query;
    expect([q.get('interval'), q.get('period1'), q.get('period2'), q.get('includePrePost')]).toEqual([
      '1m',
      '1727827200',
      '1727913600',
      'false',
    ]);
    expect(bars).toHaveLength(389);
    expect(bars[0]).toEqual({
      symbol: 'AAPL',
      timeframe: '1m',
      ts: Date.UTC(2024, 9, 2, 13, 30),
      open: 225.89,
      high: 226.11,
      low: 225.42,
      close: 225.7,
      volume: 1205461,
      source: 'yahoo',
      final: true,
      quality: 1,
    });
    expect(bars.at(-1)).toMatchObject({
      ts: Date.UTC(2024, 9, 2, 19, 59),
      close: 226.81,
      volume: 546314,
    });
    expect(bars.find((b) => b.ts === Date.UTC(2024, 9, 2, 15, 15))).toBeUndefined();
    expect(yahoo.stats()).toMatchObject({
      requests: 1,
      nullRowsSkipped: 1,
      outOfRangePointsDropped: 1,
      bars: 389,
    });
  });

  it('AAPL 1m fetchLatest: the point at the session close (regularMarketTime) never becomes a 20:00 bar', async () => {
    clock.set(Date.UTC(2024, 9, 4, 20, 0, 30));
    const bars = await yahoo.fetchLatest({ symbol: 'AAPL', timeframe: '1m', limit: 3 });
    expect(srv.requests.at(-1)!.query.get('range')).toBe('1d');
    expect(bars.map((b) => b.ts)).toEqual([
      Date.UTC(2024, 9, 2, 19, 57),
      Date.UTC(2024, 9, 2, 19, 58),
      Date.UTC(2024, 9, 2, 19, 59),
    ]);
    expect(bars.every((b) => b.final)).toBe(true);
    expect(yahoo.stats().outOfRangePointsDropped).toBe(1);
  });

  it('marks the last bar forming while the clock is inside it', async () => {
    clock = new ManualClock(Date.UTC(2024, 9, 2, 19, 59, 30));
    const y = createYahooFetcher({ baseUrl: srv.url, clock, symbolMapper: mapper });
    try {
      const bars = await y.fetchLatest({ symbol: 'AAPL', timeframe: '1m', limit: 2 });
      expect(bars.map((b) => b.final)).toEqual([true, false]);
    } finally {
      await y.close();
    }
  });

  it('folds the live point (stamped at the last trade, off the grid) into the bar that holds it', async () => {
    const body = JSON.parse(readFixture('yahoo/chart-AAPL-1m-2024-10-02-regular-hours-with-nulls.json'));
    const r = body.chart.result[0];
    const q = r.indicators.quote[0];
    // Replace the session-close snapshot by a live point at 19:58:17Z (inside the 19:58 bar).
    r.timestamp[r.timestamp.length - 1] = Date.UTC(2024, 9, 2, 19, 58, 17) / 1000;
    for (const [k, v] of Object.entries({ open: 227.5, high: 227.5, low: 227.5, close: 227.5, volume: 0 }))
      q[k][q[k].length - 1] = v;
    srv.setHandler(() => ({ body: JSON.stringify(body) }));
    const c = new ManualClock(Date.UTC(2024, 9, 2, 19, 58, 20));
    const y = createYahooFetcher({ baseUrl: srv.url, clock: c, symbolMapper: mapper });
    try {
      const bars = await y.fetchLatest({ symbol: 'AAPL', timeframe: '1m', limit: 3 });
      expect(bars.map((b) => b.ts)).toEqual([
        Date.UTC(2024, 9, 2, 19, 56),
        Date.UTC(2024, 9, 2, 19, 57),
        Date.UTC(2024, 9, 2, 19, 58),
      ]);
      const i = r.timestamp.indexOf(Date.UTC(2024, 9, 2, 19, 58) / 1000);
      expect(bars[2]).toMatchObject({
        open: shortestFloat32Decimal(q.open[i]),
        low: shortestFloat32Decimal(q.low[i]),
        high: 227.5,
        close: 227.5,
        volume: q.volume[i],
        final: false,
      });
      expect(y.stats().livePointsMerged).toBe(1);
    } finally {
      await y.close();
    }
  });

  it('EURUSD=X 1d 2020: 264 bars at 00:00 UTC, volume 0, generic symbol', async () => {
    clock.set(Date.UTC(2024, 9, 5));
    const bars = await yahoo.fetchHistory({
      symbol: 'EURUSD',
      timeframe: '1d',
      from: Date.UTC(2020, 0, 1),
      to: Date.UTC(2021, 0, 5),
    });
    expect(decodeURIComponent(srv.requests.at(-1)!.path)).toBe('/v8/finance/chart/EURUSD=X');
    expect(bars).toHaveLength(264);
    expect(bars[0]).toMatchObject({
      symbol: 'EURUSD',
      ts: Date.UTC(2020, 0, 1),
      open: 1.1220826,
      volume: 0,
    });
    expect(bars.at(-1)).toMatchObject({ ts: Date.UTC(2021, 0, 4), close: 1.2250698 });
    expect(bars.every((b) => b.volume === 0 && b.ts % 86_400_000 === 0)).toBe(true);
    // Apr-Oct bars are stamped 23:00Z (00:00 London summer time): still their own London date.
    expect(bars.find((b) => b.ts === Date.UTC(2020, 2, 30))).toMatchObject({ open: 1.1135361 });
    // 13 rows close up to 0.15 % above their high: widened, counted, kept.
    expect(yahoo.stats()).toMatchObject({ ohlcRepaired: 13, inconsistentRowsSkipped: 0 });
    const feb3 = bars.find((b) => b.ts === Date.UTC(2020, 1, 3))!;
    expect([feb3.high, feb3.close]).toEqual([1.1089795, 1.1089795]);
  });

  it('GC=F and AAPL daily bars are re-stamped from the session open to 00:00 UTC of the trading date', async () => {
    const gold = await yahoo.fetchHistory({
      symbol: 'XAUUSD',
      timeframe: '1d',
      from: Date.UTC(2020, 0, 1),
      to: Date.UTC(2020, 0, 3),
    });
    expect(gold).toEqual([
      expect.objectContaining({
        symbol: 'XAUUSD',
        ts: Date.UTC(2020, 0, 2),
        open: 1518.1,
        close: 1524.5,
        volume: 214,
      }),
    ]);
    const aapl = await yahoo.fetchHistory({
      symbol: 'AAPL',
      timeframe: '1d',
      from: Date.UTC(2020, 7, 31),
      to: Date.UTC(2020, 10, 7),
    });
    expect(aapl).toHaveLength(49);
    expect(aapl[0]).toMatchObject({ ts: Date.UTC(2020, 7, 31), open: 127.58 });
    // 13:30Z (EDT) and 14:30Z (EST) opens both land on their date: the DST change does not shift days.
    expect(aapl.at(-1)).toMatchObject({ ts: Date.UTC(2020, 10, 6), close: 118.69 });
  });

  it('BTC-USD 2020: four all-null days skipped and counted, never zeros', async () => {
    const bars = await yahoo.fetchHistory({
      symbol: 'BTCUSD',
      timeframe: '1d',
      from: Date.UTC(2020, 0, 1),
      to: Date.UTC(2021, 0, 5),
    });
    expect(bars).toHaveLength(366);
    expect(yahoo.stats().nullRowsSkipped).toBe(4);
    expect(bars.find((b) => b.ts === Date.UTC(2020, 3, 17))).toBeUndefined();
    expect(bars.every((b) => b.open > 0 && b.low > 0)).toBe(true);
    expect(bars[0]).toMatchObject({ open: 7194.892, volume: 18565664997 });
  });

  it('XETRA and mutual-fund null bars are skipped and counted', async () => {
    const de = await yahoo.fetchHistory({
      symbol: 'WSUDE',
      timeframe: '1d',
      from: Date.UTC(2023, 7, 4),
      to: Date.UTC(2023, 7, 9),
    });
    expect(de).toHaveLength(2);
    expect(de[0]).toMatchObject({ ts: Date.UTC(2023, 7, 4), open: 34.25 });
    const fund = await yahoo.fetchHistory({
      symbol: 'FUND1',
      timeframe: '1d',
      from: Date.UTC(2024, 8, 12),
      to: Date.UTC(2024, 8, 16),
    });
    expect(fund).toEqual([expect.objectContaining({ ts: Date.UTC(2024, 8, 12), close: 11887.1, volume: 0 })]);
    expect(yahoo.stats().nullRowsSkipped).toBe(2);
  });

  it('TSLA 30m with includePrePost: 30 bars from 09:00Z to 23:30Z', async () => {
    const y = createYahooFetcher({
      baseUrl: srv.url,
      clock: new ManualClock(Date.UTC(2021, 10, 23, 14)),
      symbolMapper: mapper,
      includePrePost: true,
    });
    try {
      const bars = await y.fetchHistory({
        symbol: 'TSLA',
        timeframe: '30m',
        from: Date.UTC(2021, 10, 22),
        to: Date.UTC(2021, 10, 23),
      });
      expect(srv.requests.at(-1)!.query.get('includePrePost')).toBe('true');
      expect(bars).toHaveLength(30);
      expect([bars[0]!.ts, bars.at(-1)!.ts]).toEqual([
        Date.UTC(2021, 10, 22, 9),
        Date.UTC(2021, 10, 22, 23, 30),
      ]);
      expect(bars[0]).toMatchObject({ open: 1148.51, close: 1168.7 });
    } finally {
      await y.close();
    }
  });

  it('empty windows (no timestamp key) give no bars and no error', async () => {
    const y = createYahooFetcher({
      baseUrl: srv.url,
      clock: new ManualClock(Date.UTC(2021, 10, 24)),
      symbolMapper: mapper,
    });
    expect(
      await y.fetchHistory({
        symbol: 'TSLA',
        timeframe: '1h',
        from: Date.UTC(2021, 10, 23),
        to: Date.UTC(2021, 10, 23, 1),
      }),
    ).toEqual([]);
    await y.close();
    expect(
      await yahoo.fetchHistory({
        symbol: 'VXAPL',
        timeframe: '1d',
        from: Date.UTC(2020, 0, 1),
        to: Date.UTC(2020, 0, 3),
      }),
    ).toEqual([]);
  });

  it('maps chart.error: BEKE 400 Bad Request -> bad_request, MDLY 404 Not Found -> symbol_not_found', async () => {
    const beke = await failure(
      yahoo.fetchHistory({
        symbol: 'BEKE',
        timeframe: '1d',
        from: Date.UTC(2020, 0, 1),
        to: Date.UTC(2020, 0, 3),
      }),
    );
    expect([beke.kind, beke.status, beke.code]).toEqual(['bad_request', 400, 'FETCH_BAD_REQUEST']);
    expect(beke.message).toMatch(/Data doesn't exist/);
    const mdly = await failure(
      yahoo.fetchHistory({
        symbol: 'MDLY',
        timeframe: '1d',
        from: Date.UTC(2020, 0, 1),
        to: Date.UTC(2021, 0, 4),
      }),
    );
    expect([mdly.kind, mdly.status, mdly.symbol, mdly.countsForBreaker]).toEqual([
      'symbol_not_found',
      404,
      'MDLY',
      false,
    ]);
    expect(yahoo.stats().failures).toBe(2);
  });

  it.each(['yahoo/error-429-edge-too-many-requests.txt', 'yahoo/error-429-too-many-requests-crlf.txt'])(
    'plain-text 429 (%s) -> rate_limited, then refused locally without a request',
    async (file) => {
      srv.setHandler(() => fixtureReply(file, { status: 429, headers: { 'content-type': 'text/plain' } }));
      const err = await failure(yahoo.fetchLatest({ symbol: 'AAPL', timeframe: '1m' }));
      expect([err.kind, err.status]).toEqual(['rate_limited', 429]);
      const sent = srv.requests.length;
      const again = await failure(yahoo.fetchLatest({ symbol: 'AAPL', timeframe: '1m' }));
      expect(again.kind).toBe('rate_limited');
      expect(again.retryAfterMs).toBe(60_000);
      expect(srv.requests.length).toBe(sent);
      expect(yahoo.stats().rateLimitedLocally).toBe(1);
    },
  );

  it('pages 1m history into 7-day requests and reports progress', async () => {
    srv.setHandler(() => fixtureReply('yahoo/chart-AAPL-1m-2025-02-01-weekend-empty.json'));
    const from = clock.now() - 20 * 86_400_000;
    const before = srv.requests.length;
    const progress: number[] = [];
    await yahoo.fetchHistory({
      symbol: 'AAPL',
      timeframe: '1m',
      from,
      to: clock.now(),
      onProgress: (p) => progress.push(p.requestsDone * 10 + p.requestsPlanned),
    });
    const periods = srv.requests
      .slice(before)
      .map((r) => [Number(r.query.get('period1')), Number(r.query.get('period2'))]);
    expect(periods).toEqual(
      [
        [from / 1000, from / 1000 + 7 * 86_400],
        [from / 1000 + 7 * 86_400, from / 1000 + 14 * 86_400],
        [from / 1000 + 14 * 86_400, clock.now() / 1000],
      ].map(([a, b]) => [Math.floor(a!), Math.ceil(b!)]),
    );
    expect(progress).toEqual([13, 23, 33]);
  });

  it('refuses 1m history older than 30 days without sending, clips a range that starts too early', async () => {
    const sent = srv.requests.length;
    const err = await failure(
      yahoo.fetchHistory({
        symbol: 'AAPL',
        timeframe: '1m',
        from: clock.now() - 40 * 86_400_000,
        to: clock.now() - 35 * 86_400_000,
      }),
    );
    expect(err.kind).toBe('not_supported');
    expect(srv.requests.length).toBe(sent);
    srv.setHandler(() => fixtureReply('yahoo/chart-AAPL-1m-2025-02-01-weekend-empty.json'));
    await yahoo.fetchHistory({
      symbol: 'AAPL',
      timeframe: '1m',
      from: clock.now() - 31 * 86_400_000,
      to: clock.now() - 29 * 86_400_000,
    });
    expect(Number(srv.requests.at(-1)!.query.get('period1')) * 1000).toBeGreaterThan(
      clock.now() - 30 * 86_400_000,
    );
  });

  it('rejects 1s as not_supported and unknown symbols as symbol_not_found, before any request', async () => {
    const sent = srv.requests.length;
    expect((await failure(yahoo.fetchLatest({ symbol: 'EURUSD', timeframe: '1s' }))).kind).toBe(
      'not_supported',
    );
    expect((await failure(yahoo.fetchLatest({ symbol: 'NOT A SYMBOL!', timeframe: '1m' }))).kind).toBe(
      'symbol_not_found',
    );
    expect((await failure(yahoo.fetchLatest({ symbol: 'EURUSD', timeframe: '2m' as never }))).kind).toBe(
      'bad_request',
    );
    expect(srv.requests.length).toBe(sent);
  });

  it('v7 quote: price and time, pre-market price, unknown symbol omitted -> symbol_not_found', async () => {
    const eur = await yahoo.fetchQuote('EURUSD');
    expect(eur).toMatchObject({
      symbol: 'EURUSD',
      providerSymbol: 'EURUSD=X',
      price: 1.0489877,
      ts: 1739789683000,
      marketState: 'REGULAR',
    });
    const aapl = await yahoo.fetchQuote('AAPL');
    expect(aapl).toMatchObject({ price: 160.07, marketState: 'PRE', extendedHoursPrice: 155.82 });
    expect((await failure(yahoo.fetchQuote('NONEXIST'))).kind).toBe('symbol_not_found');
  });

  it('shares one keep-alive client between fetchers and leaves it open when a borrower closes', async () => {
    const http = createHttpClient({ source: 'yahoo', poolSize: 1 });
    const a = createYahooFetcher({ baseUrl: srv.url, clock, symbolMapper: mapper, http });
    const b = createYahooFetcher({ baseUrl: srv.url, clock, symbolMapper: mapper, http });
    const range = { timeframe: '1d' as const, from: Date.UTC(2020, 0, 1), to: Date.UTC(2020, 0, 3) };
    const before = srv.connections;
    await a.fetchHistory({ symbol: 'XAUUSD', ...range });
    await a.close();
    expect(await b.fetchHistory({ symbol: 'XAUUSD', ...range })).toHaveLength(1);
    expect(srv.connections - before).toBe(1);
    expect(http.stats().requests).toBe(2);
    await http.close();
  });

  it('rejects bad options quoting the value', () => {
    expect(() => createYahooFetcher({ baseUrl: 'ftp://x' })).toThrow(/baseUrl.*"ftp:\/\/x"/);
    expect(() => createYahooFetcher({ latestLimit: 0 })).toThrow(/latestLimit.*got 0/);
    expect(() => createYahooFetcher({ poolsize: 3 } as never)).toThrow(/unknown option "poolsize"/);
    const avClient = createHttpClient({ source: 'alphavantage' });
    expect(() => createYahooFetcher({ http: avClient })).toThrow(/source "yahoo".*"alphavantage"/);
    void avClient.close();
  });
});

describe('Yahoo float32 prices (issue 11)', () => {
  const { srv, track } = useFixtureServer(() =>
    fixtureReply('yahoo/chart-AAPL-1m-2024-10-02-regular-hours-with-nulls.json'),
  );
  const at = new ManualClock(Date.UTC(2024, 9, 3));

  it('stores the decimal meant (225.89), or the raw float32 value with rawPrices: true', async () => {
    const meant = track(createYahooFetcher({ baseUrl: srv.url, clock: at }));
    const raw = track(createYahooFetcher({ baseUrl: srv.url, clock: at, rawPrices: true }));
    const req = {
      symbol: 'AAPL',
      timeframe: '1m' as const,
      from: Date.UTC(2024, 9, 2, 13, 30),
      to: Date.UTC(2024, 9, 2, 20),
    };
    const a = await meant.fetchHistory(req);
    const b = await raw.fetchHistory(req);
    expect([a[0]!.open, b[0]!.open]).toEqual([225.89, 225.88999938964844]);
    expect(a).toHaveLength(b.length);
    for (let i = 0; i < a.length; i++) {
      for (const k of ['open', 'high', 'low', 'close'] as const) {
        expect(Math.fround(a[i]![k])).toBe(b[i]![k]);
        expect(String(a[i]![k]).length).toBeLessThanOrEqual(String(b[i]![k]).length);
      }
      expect(a[i]!.volume).toBe(b[i]!.volume);
    }
    // Read back, every recorded AAPL price has at most 4 decimals (cents, and the sub-penny prints
    // like 224.0109 the tape carries); raw, most of them have 10 or more.
    const decimals = (v: number): number => (String(v).split('.')[1] ?? '').length;
    expect(Math.max(...a.flatMap((x) => [x.open, x.high, x.low, x.close].map(decimals)))).toBe(4);
    expect(b.filter((x) => decimals(x.close) >= 10).length).toBeGreaterThan(b.length / 2);
  });

  it('rejects a non-boolean rawPrices', () => {
    expect(() => createYahooFetcher({ rawPrices: 'yes' as never })).toThrow(/rawPrices/);
  });
});

describe("Yahoo float32 values in today's chart shape (hand-made recording, fixtures/PROVENANCE.md)", () => {
  const { srv, track } = useFixtureServer(() =>
    ownFixtureReply('yahoo/chart-AAPL-1m-2025-03-14-float32-values.json'),
  );

  it('225.88999938964844 -> 225.89, a half-cent 224.565 and a sub-penny 224.0109 kept', async () => {
    const y = track(
      createYahooFetcher({ baseUrl: srv.url, clock: new ManualClock(Date.UTC(2025, 2, 14, 21)) }),
    );
    const bars = await y.fetchHistory({
      symbol: 'AAPL',
      timeframe: '1m',
      from: Date.UTC(2025, 2, 14, 13, 30),
      to: Date.UTC(2025, 2, 14, 13, 34),
    });
    expect(bars.map((b) => [b.open, b.high, b.low, b.close])).toEqual([
      [225.89, 226.11, 225.42, 225.7],
      [225.7, 226, 224.565, 224.81],
      [224.81, 224.9, 224.0109, 224.5],
      [224.5, 225, 224.4, 224.99],
    ]);
  });
});
