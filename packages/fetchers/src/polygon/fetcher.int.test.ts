import { ManualClock } from '@pipeline/core';
import { fixtureReply, readFixture, type FixtureHandler } from '@pipeline/test-utils';
import { createPolygonFetcher, type PolygonFetcher, type PolygonFetcherOptions } from './fetcher';
import { failure as failureOf } from '../testing/failure';
import { useFixtureServer } from '../testing/use-fixture-server';

const KEY = 'pg-secret-key-987654';
const iso = (s: string) => Date.parse(s);

const { srv, track } = useFixtureServer(() => ({ status: 500, body: 'no handler' }));

function make(opts: Partial<PolygonFetcherOptions> = {}): PolygonFetcher {
  const f = createPolygonFetcher({
    apiKey: KEY,
    baseUrl: srv.url,
    perMinute: null,
    clock: new ManualClock(iso('2030-01-01T00:00:00Z')),
    ...opts,
  });
  return track(f);
}

const failure = (p: Promise<unknown>) => failureOf(p, KEY);

const serve =
  (file: string): FixtureHandler =>
  () =>
    fixtureReply(file);

describe('PolygonFetcher aggregates from recorded responses', () => {
  it('AAPL daily 2005: midnight-Eastern stamps become trading dates at 00:00 UTC across the DST change', async () => {
    srv.setHandler(serve('polygon/aggs-AAPL-1-day-2005-04-01-to-2005-04-04.json'));
    const f = make();
    const bars = await f.fetchHistory({
      symbol: 'AAPL',
      timeframe: '1d',
      from: iso('2005-04-01T00:00:00Z'),
      to: iso('2005-04-05T00:00:00Z'),
    });
    // t=1112331600000 is 05:00Z (EST), t=1112587200000 is 04:00Z (EDT, after 2005-04-03).
    expect(bars).toEqual([
      {
        symbol: 'AAPL',
        timeframe: '1d',
        ts: iso('2005-04-01T00:00:00Z'),
        open: 1.5032,
        high: 1.5064,
        low: 1.4489,
        close: 1.4604,
        volume: 642646396,
        source: 'polygon',
        final: true,
        quality: 1,
      },
      {
        symbol: 'AAPL',
        timeframe: '1d',
        ts: iso('2005-04-04T00:00:00Z'),
        open: 1.4639,
        high: 1.4754,
        low: 1.4343,
        close: 1.4675,
        volume: 578172308,
        source: 'polygon',
        final: true,
        quality: 1,
      },
    ]);
    const req = srv.requests.at(-1)!;
    expect(req.path).toBe(
      `/v2/aggs/ticker/AAPL/range/1/day/${iso('2005-04-01T00:00:00Z')}/${iso('2005-04-05T00:00:00Z') - 1}`,
    );
    expect(Object.fromEntries(req.query)).toEqual({
      adjusted: 'true',
      sort: 'asc',
      limit: '50000',
      apiKey: KEY,
    });
  });

  it('reads scientific-notation volumes as plain numbers', async () => {
    srv.setHandler(serve('polygon/aggs-AAPL-1-day-2023-01-01-to-2023-01-10-sci-notation-volume.json'));
    const bars = await make().fetchHistory({
      symbol: 'AAPL',
      timeframe: '1d',
      from: iso('2023-01-01T00:00:00Z'),
      to: iso('2023-01-11T00:00:00Z'),
    });
    expect(bars).toHaveLength(6);
    expect(bars[0]).toMatchObject({
      ts: iso('2023-01-03T00:00:00Z'),
      open: 130.28,
      close: 125.07,
      volume: 112117471,
    });
    expect(bars[5]).toMatchObject({
      ts: iso('2023-01-10T00:00:00Z'),
      open: 130.26,
      close: 130.73,
      volume: 63896155,
    });
  });

  it('forex C:EURUSD: 00:00Z stamps kept, weekend bars with tiny tick volume kept', async () => {
    srv.setHandler(serve('polygon/aggs-C-EURUSD-1-day-2023-01-01-to-2023-01-10-forex.json'));
    const bars = await make().fetchHistory({
      symbol: 'EURUSD',
      timeframe: '1d',
      from: iso('2023-01-01T00:00:00Z'),
      to: iso('2023-01-11T00:00:00Z'),
    });
    expect(srv.requests.at(-1)!.path).toContain('/v2/aggs/ticker/C%3AEURUSD/range/1/day/');
    expect(bars).toHaveLength(10);
    expect(bars[0]).toMatchObject({
      symbol: 'EURUSD',
      ts: iso('2023-01-01T00:00:00Z'),
      open: 1.06849,
      close: 1.0793,
      volume: 12,
    });
    expect(bars[6]).toMatchObject({ ts: iso('2023-01-07T00:00:00Z'), volume: 2 });
    expect(bars[9]).toMatchObject({ ts: iso('2023-01-10T00:00:00Z'), open: 1.07325, close: 1.07383 });
  });

  it('sorts a sort=desc hourly answer ascending and keeps its scientific-notation volumes', async () => {
    srv.setHandler(serve('polygon/aggs-GME-60-minute-2021-12-01-to-2021-12-02-desc-extended-hours.json'));
    const bars = await make().fetchHistory({
      symbol: 'GME',
      timeframe: '1h',
      from: iso('2021-12-01T00:00:00Z'),
      to: iso('2021-12-03T00:00:00Z'),
    });
    expect(bars).toHaveLength(29);
    expect(bars[0]).toMatchObject({ ts: 1638349200000, open: 49.6325, close: 49.65, volume: 2184 });
    expect(bars[28]).toMatchObject({ ts: 1638486000000, open: 45.375, close: 45.375, volume: 1200 });
    expect(bars.find((b) => b.ts === 1638457200000)!.volume).toBe(2534380);
    for (let i = 1; i < bars.length; i++) expect(bars[i]!.ts).toBeGreaterThan(bars[i - 1]!.ts);
  });

  it('index I:NDX: no volume field -> volume 0, history starting later than asked (plan limit) is not an error', async () => {
    srv.setHandler(serve('polygon/aggs-I-NDX-1-day-2023-01-01-to-2023-05-10-index.json'));
    const bars = await make().fetchHistory({
      symbol: 'NAS100',
      timeframe: '1d',
      from: iso('2023-01-01T00:00:00Z'),
      to: iso('2023-05-11T00:00:00Z'),
    });
    expect(srv.requests.at(-1)!.path).toContain('/v2/aggs/ticker/I%3ANDX/');
    expect(bars).toHaveLength(54);
    expect(bars[0]).toMatchObject({
      symbol: 'NAS100',
      ts: iso('2023-02-22T00:00:00Z'),
      open: 12085.67432708806,
      volume: 0,
    });
    expect(bars[53]).toMatchObject({ ts: iso('2023-05-10T00:00:00Z'), close: 13347.82747307838, volume: 0 });
  });

  it('an unknown ticker (200, no "results" key) is an empty list', async () => {
    srv.setHandler(serve('polygon/aggs-unknown-ticker-empty-no-results-key.json'));
    const f = make();
    await expect(
      f.fetchHistory({
        symbol: 'ZZZZ',
        timeframe: '1d',
        from: iso('2022-01-01T00:00:00Z'),
        to: iso('2022-02-01T00:00:00Z'),
      }),
    ).resolves.toEqual([]);
    expect(f.stats().failures).toBe(0);
  });

  it('fetchLatest asks sort=desc with the limit and marks the forming bar', async () => {
    srv.setHandler(serve('polygon/aggs-GME-60-minute-2021-12-01-to-2021-12-02-desc-extended-hours.json'));
    const f = make({ clock: new ManualClock(iso('2021-12-02T23:30:00Z')) });
    const bars = await f.fetchLatest({ symbol: 'GME', timeframe: '1h', limit: 5 });
    expect(bars.map((b) => b.ts)).toEqual([
      1638471600000, 1638475200000, 1638478800000, 1638482400000, 1638486000000,
    ]);
    expect(bars.map((b) => b.final)).toEqual([true, true, true, true, false]);
    const q = srv.requests.at(-1)!.query;
    expect([q.get('sort'), q.get('limit')]).toEqual(['desc', '5']);
  });
});

describe('PolygonFetcher paging and range splitting', () => {
  it('follows next_url across three pages on the fixture server, adding the apiKey next_url lacks', async () => {
    const page1 = readFixture('polygon/docs-example-aggs-AAPL-with-next_url.json');
    const page = (days: string[], next: string | null) =>
      JSON.stringify({
        ticker: 'AAPL',
        status: 'OK',
        adjusted: true,
        resultsCount: days.length,
        results: days.map((d, i) => ({
          o: 75 + i,
          h: 76 + i,
          l: 74 + i,
          c: 75.5 + i,
          v: 1e6,
          t: iso(`${d}T05:00:00Z`),
        })),
        ...(next
          ? { next_url: `https://api.polygon.io/v2/aggs/ticker/AAPL/range/1/day/x/2020-01-10?cursor=${next}` }
          : {}),
      });
    srv.setHandler((req) => {
      const cursor = req.query.get('cursor');
      if (cursor === null) return { body: page1 };
      if (cursor === 'bGltaXQ9MiZzb3J0PWFzYw') return { body: page(['2020-01-06', '2020-01-07'], 'page3') };
      if (cursor === 'page3') return { body: page(['2020-01-08', '2020-01-09'], null) };
      return { status: 400, body: '{"status":"ERROR","error":"bad cursor"}' };
    });
    const f = make();
    const before = srv.requests.length;
    const bars = await f.fetchHistory({
      symbol: 'AAPL',
      timeframe: '1d',
      from: iso('2020-01-01T00:00:00Z'),
      to: iso('2020-01-11T00:00:00Z'),
    });
    const reqs = srv.requests.slice(before);
    expect(reqs).toHaveLength(3);
    expect(reqs.map((r) => r.query.get('apiKey'))).toEqual([KEY, KEY, KEY]);
    expect(reqs[1]!.path).toBe('/v2/aggs/ticker/AAPL/range/1/day/1578114000000/2020-01-10');
    expect(reqs[2]!.query.get('cursor')).toBe('page3');
    expect(bars.map((b) => new Date(b.ts).toISOString().slice(0, 10))).toEqual([
      '2020-01-02',
      '2020-01-03',
      '2020-01-06',
      '2020-01-07',
      '2020-01-08',
      '2020-01-09',
    ]);
    expect(bars[0]).toMatchObject({ open: 74.06, close: 75.0875, volume: 135647456 });
  });

  it('splits history so that no request covers more than 50,000 base aggregates', async () => {
    srv.setHandler(serve('polygon/aggs-unknown-ticker-empty-no-results-key.json'));
    const f = make();
    const from = iso('2023-01-01T00:00:00Z');
    const to = from + 100 * 86_400_000;
    const progress: number[] = [];
    const check = async (timeframe: '1m' | '5m', unitMs: number) => {
      const before = srv.requests.length;
      await f.fetchHistory({
        symbol: 'AAPL',
        timeframe,
        from,
        to,
        onProgress: (p) => progress.push(p.requestsPlanned),
      });
      const spans = srv.requests
        .slice(before)
        .map((r) => r.path.split('/').slice(-2).map(Number) as [number, number]);
      expect(spans.length).toBe(Math.ceil((to - from) / (50_000 * unitMs)));
      expect(spans[0]![0]).toBe(from);
      expect(spans.at(-1)![1]).toBe(to - 1);
      for (const [a, b] of spans) expect((b + 1 - a) / unitMs).toBeLessThanOrEqual(50_000);
      for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBe(spans[i - 1]![1] + 1);
      return spans.length;
    };
    expect(await check('1m', 60_000)).toBe(3); // 144,000 minutes
    // 5-minute bars are built from 1-minute aggregates: the cap counts minutes, not 5m bars.
    expect(await check('5m', 60_000)).toBe(3);
    expect(progress).toContain(3);
  });
});

describe('PolygonFetcher prev close and last trade', () => {
  it('reads prev close for a stock (close-time stamp) and forex (end-of-day stamp) as the trading day', async () => {
    srv.setHandler((req) =>
      fixtureReply(
        req.path.includes('C%3AEURUSD')
          ? 'polygon/docs-example-prev-C-EURUSD.json'
          : 'polygon/prev-AAPL-2022-04-26.json',
      ),
    );
    const f = make();
    expect(await f.prevClose('AAPL')).toEqual({
      symbol: 'AAPL',
      timeframe: '1d',
      ts: iso('2022-04-26T00:00:00Z'),
      open: 162.25,
      high: 162.34,
      low: 156.72,
      close: 156.8,
      volume: 95595226,
      source: 'polygon',
      final: true,
      quality: 1,
    });
    expect(srv.requests.at(-1)!.path).toBe('/v2/aggs/ticker/AAPL/prev');
    expect(await f.prevClose('EURUSD')).toMatchObject({
      ts: iso('2022-05-04T00:00:00Z'),
      open: 1.05252,
      close: 1.06206,
    });
  });

  it('reads the last trade of a stock (ns time) and of a crypto pair (v1, ms time); forex has none', async () => {
    srv.setHandler((req) =>
      fixtureReply(
        req.path.startsWith('/v1/last/crypto')
          ? 'polygon/last-trade-crypto-BTC-USD-2022-04-28.json'
          : 'polygon/last-trade-AAPL-2022-04-28.json',
      ),
    );
    const f = make();
    expect(await f.lastTrade('AAPL')).toEqual({
      symbol: 'AAPL',
      price: 166.25,
      size: 2,
      ts: 1651179319310,
      exchange: 4,
    });
    expect(srv.requests.at(-1)!.path).toBe('/v2/last/trade/AAPL');
    expect(await f.lastTrade('BTCUSD')).toEqual({
      symbol: 'BTCUSD',
      price: 39976.89682331,
      size: 0.005,
      ts: 1651180409688,
      exchange: 2,
    });
    expect(srv.requests.at(-1)!.path).toBe('/v1/last/crypto/BTC/USD');
    expect((await failure(f.lastTrade('EURUSD'))).kind).toBe('not_supported');
  });
});

describe('PolygonFetcher last quote and snapshot', () => {
  it('reads the stock NBBO (p/P = bid/ask, ns time) and the forex last quote (v1, ms time)', async () => {
    srv.setHandler((req) =>
      fixtureReply(
        req.path.startsWith('/v1/')
          ? 'polygon/last-quote-forex-AUD-USD-2022-05-10.json'
          : 'polygon/last-nbbo-AAPL-2022-05-10.json',
      ),
    );
    const f = make();
    expect(await f.lastQuote('AAPL')).toEqual({
      symbol: 'AAPL',
      bid: 155.65,
      ask: 155.66,
      bidSize: 1,
      askSize: 14,
      ts: 1652192754171,
    });
    expect(srv.requests.at(-1)!.path).toBe('/v2/last/nbbo/AAPL');
    expect(await f.lastQuote('AUDUSD')).toEqual({
      symbol: 'AUDUSD',
      bid: 0.6952,
      ask: 0.69527,
      bidSize: null,
      askSize: null,
      ts: 1652193694000,
    });
    expect(srv.requests.at(-1)!.path).toBe('/v1/last_quote/currencies/AUD/USD');
    expect((await failure(f.lastQuote('NAS100'))).kind).toBe('not_supported');
  });

  it('reads a stock snapshot (ns times, null trade conditions) and a forex snapshot (a/b quote, ms times)', async () => {
    srv.setHandler((req) =>
      fixtureReply(
        req.path.includes('/forex/')
          ? 'polygon/docs-example-snapshot-forex-C-EURUSD.json'
          : 'polygon/snapshot-ticker-AAPL-2022-04-29.json',
      ),
    );
    const f = make();
    expect(await f.snapshot('AAPL')).toEqual({
      symbol: 'AAPL',
      day: { open: 161.84, high: 166.2, low: 159.8, close: 160.315, volume: 68840127, ts: null },
      minute: { open: 160.71, high: 160.71, low: 160.3, close: 160.3, volume: 197226, ts: null },
      prevDay: { open: 159.25, high: 164.515, low: 158.93, close: 163.64, volume: 130149192, ts: null },
      lastTrade: { price: 159.99, size: 200, ts: 1651251948294 },
      lastQuote: { bid: 159.98, ask: 159.99, ts: 1651251948407 },
      todaysChange: -3.65,
      updated: 1651251948294,
    });
    expect(srv.requests.at(-1)!.path).toBe('/v2/snapshot/locale/us/markets/stocks/tickers/AAPL');
    const fx = await f.snapshot('EURUSD');
    expect(srv.requests.at(-1)!.path).toBe('/v2/snapshot/locale/global/markets/forex/tickers/C%3AEURUSD');
    expect(fx.lastQuote).toEqual({ bid: 1.18398, ask: 1.18403, ts: 1606163759000 });
    expect(fx.minute).toEqual({
      open: 1.18404,
      high: 1.18423,
      low: 1.1838,
      close: 1.18396,
      volume: 41,
      ts: 1684422000000,
    });
    expect([fx.day!.close, fx.prevDay!.volume, fx.lastTrade, fx.updated]).toEqual([
      1.18403,
      5,
      null,
      1606163759000,
    ]);
  });
});

describe('PolygonFetcher errors', () => {
  const cases: [string, number, string, string][] = [
    ['polygon/error-401-ERROR-api-key-not-provided.json', 401, 'auth', 'API Key was not provided'],
    ['polygon/error-401-ERROR-api-key-not-provided.json', 400, 'auth', 'API Key was not provided'],
    ['polygon/error-403-NOT_AUTHORIZED-not-entitled.json', 403, 'not_supported', 'not entitled'],
    [
      'polygon/error-403-NOT_AUTHORIZED-plan-timeframe.json',
      403,
      'not_supported',
      "doesn't include this data timeframe",
    ],
    ['polygon/error-429-too-many-requests.json', 429, 'rate_limited', 'maximum requests per minute'],
  ];
  for (const [file, status, kind, text] of cases) {
    it(`${file} (HTTP ${status}) -> ${kind}`, async () => {
      srv.setHandler(() => fixtureReply(file, { status }));
      const f = make({ clock: new ManualClock(iso('2024-01-02T10:00:20Z')) });
      const err = await failure(f.fetchLatest({ symbol: 'AAPL', timeframe: '1d' }));
      expect([err.kind, err.status, err.symbol]).toEqual([kind, status, 'AAPL']);
      expect(err.message).toContain(text);
      if (kind === 'rate_limited') expect(err.retryAfterMs).toBe(40_000);
    });
  }

  it('honours Retry-After on a 429 and refuses locally until then', async () => {
    const clock = new ManualClock(iso('2024-01-02T10:00:20Z'));
    srv.setHandler(() =>
      fixtureReply('polygon/error-429-too-many-requests.json', {
        headers: { 'content-type': 'application/json', 'retry-after': '7' },
      }),
    );
    const f = make({ clock });
    expect((await failure(f.fetchLatest({ symbol: 'AAPL', timeframe: '1d' }))).retryAfterMs).toBe(7_000);
    const sent = srv.requests.length;
    const local = await failure(f.fetchLatest({ symbol: 'AAPL', timeframe: '1d' }));
    expect([local.kind, local.retryAfterMs, srv.requests.length]).toEqual(['rate_limited', 7_000, sent]);
    clock.advance(7_000);
    srv.setHandler(serve('polygon/aggs-AAPL-1-day-2005-04-01-to-2005-04-04.json'));
    await expect(f.fetchLatest({ symbol: 'AAPL', timeframe: '1d' })).resolves.toHaveLength(2);
  });

  it('keeps to the free plan budget of 5 requests per minute by default', async () => {
    srv.setHandler(serve('polygon/prev-AAPL-2022-04-26.json'));
    const f = make({ perMinute: undefined });
    for (let i = 0; i < 5; i++) await f.prevClose('AAPL');
    const err = await failure(f.prevClose('AAPL'));
    expect(err.kind).toBe('rate_limited');
    expect(f.budget().perMinuteLeft).toBe(0);
  });

  it('rejects bad options at construction, quoting the value', () => {
    expect(() => createPolygonFetcher({ apiKey: KEY, adjustd: false } as never)).toThrow(
      /unknown option "adjustd"/,
    );
    expect(() => createPolygonFetcher({ apiKey: ' ' })).toThrow(/apiKey/);
    expect(() => createPolygonFetcher({ apiKey: KEY, defaultLatestLimit: 0 })).toThrow(
      /defaultLatestLimit.*0/,
    );
  });
});
