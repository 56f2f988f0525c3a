import { ManualClock } from '@pipeline/core';
import { createSymbolMapper } from '@pipeline/symbol-mapper';
import { fixtureReply, readFixture, type FixtureReply, type RecordedRequest } from '@pipeline/test-utils';
import { createFetcherStats } from '../base/stats';
import { createAlphaVantageFetcher, type AlphaVantageFetcher } from './fetcher';
import { parseAvCsv } from './parse';
import { failure } from '../testing/failure';
import { useFixtureServer } from '../testing/use-fixture-server';

const KEY = 'AVKEY-SECRET-42';

/** Serves recorded AV bodies by `function` + symbol/pair + interval, like /query does. */
let route: Record<string, string> = {};
function recorded(req: RecordedRequest): FixtureReply {
  const q = req.query;
  const id = [
    q.get('function'),
    q.get('symbol') ??
      `${q.get('from_symbol') ?? q.get('from_currency')}${q.get('to_symbol') ?? q.get('to_currency')}`,
    q.get('interval') ?? '',
  ].join(':');
  const file = route[id];
  return file
    ? fixtureReply(`alphavantage/${file}`)
    : { body: JSON.stringify({ 'Error Message': `no fixture for ${id}` }) };
}

const mapper = createSymbolMapper();

describe('Alpha Vantage fetcher against recorded responses on a real HTTP server', () => {
  const { srv } = useFixtureServer(recorded);
  let clock: ManualClock;
  let av: AlphaVantageFetcher;
  const make = (
    start: number,
    extra: Parameters<typeof createAlphaVantageFetcher>[0] | object = {},
  ): AlphaVantageFetcher => {
    clock = new ManualClock(start);
    av = createAlphaVantageFetcher({
      apiKey: KEY,
      baseUrl: srv.url,
      clock,
      symbolMapper: mapper,
      timeoutMs: 400,
      // Pacing is tested on its own (history paging, the default budget); these tests read answers.
      rateLimits: { perSecond: null, perMinute: null, perDay: null },
      ...extra,
    });
    return av;
  };
  beforeEach(() => {
    route = {
      'TIME_SERIES_INTRADAY:MSFT:1min': 'time_series_intraday-MSFT-1min-2017-12-18-compact.json',
      'TIME_SERIES_INTRADAY:IBM:5min': 'time_series_intraday-IBM-5min-2020-05-08-trimmed.json',
      'TIME_SERIES_DAILY:MSFT:': 'time_series_daily-MSFT-2020-01-14-intraday-refresh.json',
      'TIME_SERIES_DAILY:IBM:': 'time_series_daily-IBM-2020-05-08-trimmed.json',
      'FX_INTRADAY:EURUSD:5min': 'fx_intraday-EURUSD-5min-2020-01-14.json',
      'FX_DAILY:EURUSD:': 'fx_daily-EURUSD-2020-01-14-includes-sunday-bar.json',
      'GLOBAL_QUOTE:IBM:': 'global_quote-IBM-2020-05-08.json',
      'CURRENCY_EXCHANGE_RATE:EURUSD:': 'currency_exchange_rate-EUR-USD-2022-03-21.json',
      'CURRENCY_EXCHANGE_RATE:USDJPY:': 'currency_exchange_rate-USD-JPY-2020-05-03-bid-ask-dash.json',
      'CURRENCY_EXCHANGE_RATE:BTCUSD:': 'currency_exchange_rate-BTC-CNY-2017-12-20-no-bid-ask.json',
    };
    srv.setHandler(recorded);
  });
  afterEach(async () => {
    await av.close();
  });

  // The recordings in shared/fixtures are 2017-2020 answers, stamped with the bar END (the archived
  // convention): these tests name `intradayStamp: 'end'`; today's default (`start`) is tested on the
  // hand-made current-shape recordings in fixtures.int.test.ts.
  it('MSFT 1min compact (2017, archived): 100 bars, US/Eastern (EST) end stamps -> UTC bar opens', async () => {
    make(Date.UTC(2017, 11, 18, 21), { intradayStamp: 'end' });
    const bars = await av.fetchLatest({ symbol: 'MSFT', timeframe: '1m' });
    const q = srv.requests.at(-1)!.query;
    expect([
      q.get('function'),
      q.get('symbol'),
      q.get('interval'),
      q.get('outputsize'),
      q.get('apikey'),
    ]).toEqual(['TIME_SERIES_INTRADAY', 'MSFT', '1min', 'compact', KEY]);
    expect(bars).toHaveLength(100);
    // "2017-12-18 14:56:00" EST (UTC-5) closes the bar that opened at 19:55Z.
    expect(bars.at(-1)).toEqual({
      symbol: 'MSFT',
      timeframe: '1m',
      ts: Date.UTC(2017, 11, 18, 19, 55),
      open: 86.49,
      high: 86.5,
      low: 86.475,
      close: 86.5,
      volume: 10494,
      source: 'alphavantage',
      final: true,
      quality: 1,
    });
    expect(bars[0]!.ts).toBe(Date.UTC(2017, 11, 18, 18, 16));
  });

  it("IBM 5min in May (EDT, UTC-4): `end` for the archived answer, `start` (today's default) as is", async () => {
    make(Date.UTC(2020, 4, 8, 18, 20), { intradayStamp: 'end' });
    const bars = await av.fetchLatest({ symbol: 'IBM', timeframe: '5m' });
    expect(bars.map((b) => b.ts)).toEqual([Date.UTC(2020, 4, 8, 17, 55), Date.UTC(2020, 4, 8, 18, 0)]);
    expect(bars[1]).toMatchObject({ open: 121.79, close: 121.74, volume: 31454 });
    await av.close();
    make(Date.UTC(2020, 4, 8, 18, 20));
    expect((await av.fetchLatest({ symbol: 'IBM', timeframe: '5m' })).at(-1)!.ts).toBe(
      Date.UTC(2020, 4, 8, 18, 5),
    );
  });

  it('converts across a DST change with the zone the meta data names', () => {
    const body = JSON.parse(
      readFixture('alphavantage/time_series_intraday-IBM-5min-2020-05-08-trimmed.json'),
    );
    const series = body['Time Series (5min)'];
    const row = series['2020-05-08 14:05:00'];
    // 2020-03-08: US clocks go forward at 02:00 EST. 01:55 EST = 06:55Z; 03:05 EDT = 07:05Z.
    body['Time Series (5min)'] = {
      '2020-03-08 03:05:00': row,
      '2020-03-08 01:55:00': row,
      '2020-11-01 00:30:00': row,
      '2020-11-01 03:00:00': row,
    };
    srv.setHandler(() => ({ body: JSON.stringify(body) }));
    make(Date.UTC(2020, 11, 1), { intradayStamp: 'end' });
    return av.fetchLatest({ symbol: 'IBM', timeframe: '5m' }).then((bars) => {
      expect(bars.map((b) => new Date(b.ts + 300_000).toISOString())).toEqual([
        '2020-03-08T06:55:00.000Z',
        '2020-03-08T07:05:00.000Z',
        '2020-11-01T04:30:00.000Z', // 00:30 EDT
        '2020-11-01T08:00:00.000Z', // 03:00 EST, after the fall-back
      ]);
    });
  });

  it('FX_INTRADAY EUR/USD (2020, archived end stamps): UTC stamps, no volume field -> 0, pair split into from/to', async () => {
    make(Date.UTC(2020, 0, 14, 18, 30), { intradayStamp: 'end' });
    const bars = await av.fetchLatest({ symbol: 'EURUSD', timeframe: '5m' });
    const q = srv.requests.at(-1)!.query;
    expect([q.get('function'), q.get('from_symbol'), q.get('to_symbol')]).toEqual([
      'FX_INTRADAY',
      'EUR',
      'USD',
    ]);
    expect(bars).toHaveLength(5);
    expect(bars.at(-1)).toMatchObject({
      symbol: 'EURUSD',
      ts: Date.UTC(2020, 0, 14, 18, 15),
      open: 1.113,
      high: 1.1131,
      low: 1.1128,
      close: 1.113,
      volume: 0,
      final: true,
    });
  });

  it('FX_DAILY keeps the Sunday bar; daily bars at 00:00 UTC; the refreshed-today bar is forming', async () => {
    make(Date.UTC(2020, 0, 14, 18, 20));
    const bars = await av.fetchHistory({
      symbol: 'EURUSD',
      timeframe: '1d',
      from: Date.UTC(2020, 0, 1),
      to: Date.UTC(2020, 0, 15),
    });
    expect(srv.requests.at(-1)!.query.get('outputsize')).toBe('full');
    expect(bars.map((b) => new Date(b.ts).toISOString().slice(0, 10))).toEqual([
      '2020-01-12',
      '2020-01-13',
      '2020-01-14',
    ]);
    expect(bars.map((b) => b.final)).toEqual([true, true, false]);
    expect(bars[0]).toMatchObject({ open: 1.1118, high: 1.1122, low: 1.1111, close: 1.1117 });
  });

  it('TIME_SERIES_DAILY MSFT: 9 bars, last one still forming during the session', async () => {
    make(Date.UTC(2020, 0, 14, 17, 39));
    const bars = await av.fetchHistory({
      symbol: 'MSFT',
      timeframe: '1d',
      from: Date.UTC(2020, 0, 1),
      to: Date.UTC(2020, 0, 15),
    });
    expect(bars).toHaveLength(9);
    expect(bars[0]!.ts).toBe(Date.UTC(2020, 0, 2));
    expect(bars.at(-1)).toMatchObject({
      ts: Date.UTC(2020, 0, 14),
      close: 163.335,
      volume: 8913648,
      final: false,
    });
  });

  it('pages intraday stock history by month, one request per 1.25 s (1/s plus the margin), never a burst', async () => {
    make(Date.UTC(2020, 4, 9), { rateLimits: { perMinute: null, perDay: null } });
    const sentAt: number[] = [];
    srv.setHandler((req) => {
      sentAt.push(clock.now());
      return recorded(req);
    });
    const before = srv.requests.length;
    const progress: number[] = [];
    let settled = false;
    const run = av
      .fetchHistory({
        symbol: 'IBM',
        timeframe: '5m',
        from: Date.UTC(2020, 2, 15),
        to: Date.UTC(2020, 4, 9),
        onProgress: (p) => progress.push(p.requestsDone),
      })
      .finally(() => (settled = true));
    // Let real I/O happen; move the fetcher's clock on only while it waits for its budget (a timer on
    // the clock), so the clock reads the send time when a request arrives.
    for (let i = 0; i < 2_000 && !settled; i++) {
      await new Promise((r) => setTimeout(r, 1));
      if (clock.pendingTimers > 0) clock.advance(50);
    }
    await run;
    expect(srv.requests.slice(before).map((r) => r.query.get('month'))).toEqual([
      '2020-03',
      '2020-04',
      '2020-05',
    ]);
    expect(progress).toEqual([1, 2, 3]);
    // Before: three requests about 11 ms apart, and AV's burst notice on the second.
    expect(sentAt.slice(1).map((t, i) => t - sentAt[i]!)).toEqual([1_250, 1_250]);
  });

  it('quotes: GLOBAL_QUOTE and CURRENCY_EXCHANGE_RATE, "-" bid/ask -> null', async () => {
    make(Date.UTC(2022, 2, 21, 12));
    expect(await av.fetchQuote('IBM')).toEqual({
      symbol: 'IBM',
      price: 121.74,
      ts: Date.UTC(2020, 4, 8),
      bid: null,
      ask: null,
    });
    expect(await av.fetchQuote('EURUSD')).toEqual({
      symbol: 'EURUSD',
      price: 1.1030223,
      ts: Date.UTC(2022, 2, 21, 11, 29, 42),
      bid: 1.1030223,
      ask: 1.1030223,
    });
    expect(await av.fetchQuote('USDJPY')).toMatchObject({ price: 106.89, bid: null, ask: null });
  });

  it.each<[string, string, string]>([
    ['error-note-rate-limit-5-per-minute-2018.json', 'rate_limited', 'rate limited'],
    ['error-information-rate-limit-25-per-day-2025.json', 'rate_limited', 'daily request quota'],
    [
      'error-information-premium-endpoint-TIME_SERIES_DAILY_ADJUSTED.json',
      'not_supported',
      'premium endpoint',
    ],
    ['error-message-invalid-api-call-FX_DAILY.json', 'symbol_not_found', 'Invalid API call'],
    [
      'error-message-invalid-symbol-TIME_SERIES_INTRADAY-X026.DE.json',
      'symbol_not_found',
      'Invalid API call',
    ],
    ['error-message-intraday-internal-error-2017.json', 'transient', 'internal or external error'],
  ])('HTTP 200 body %s -> %s', async (file, kind, text) => {
    srv.setHandler(() => fixtureReply(`alphavantage/${file}`));
    make(Date.UTC(2025, 0, 2, 10));
    const err = await failure(av.fetchLatest({ symbol: 'MSFT', timeframe: '1m' }));
    expect(err.kind).toBe(kind);
    expect(err.message).toContain(text);
    expect(err.message).not.toContain(KEY);
    expect(JSON.stringify(err)).not.toContain(KEY);
  });

  it('a bad key body -> auth', async () => {
    srv.setHandler(() => ({
      body: '{"Error Message": "the parameter apikey is invalid or missing. Please claim your free API key on (https://www.alphavantage.co/support/#api-key)."}',
    }));
    make(Date.UTC(2025, 0, 2));
    const err = await failure(av.fetchLatest({ symbol: 'IBM', timeframe: '5m' }));
    expect([err.kind, err.countsForBreaker]).toEqual(['auth', true]);
  });

  it('a per-minute Note blocks for 60 s; the daily Information blocks until 00:00 UTC, without sending', async () => {
    srv.setHandler(() => fixtureReply('alphavantage/error-information-rate-limit-25-per-day-2025.json'));
    make(Date.UTC(2025, 0, 2, 18));
    const err = await failure(av.fetchLatest({ symbol: 'MSFT', timeframe: '1m' }));
    expect(err.retryAfterMs).toBe(6 * 3_600_000);
    const sent = srv.requests.length;
    const local = await failure(av.fetchLatest({ symbol: 'MSFT', timeframe: '1m' }));
    expect([local.kind, local.retryAfterMs, srv.requests.length]).toEqual([
      'rate_limited',
      6 * 3_600_000,
      sent,
    ]);
    expect(av.budget().perDayLeft).toBeNull();
  });

  it('the default budget (5/min, 25/day) refuses the 6th call in a minute without sending', async () => {
    clock = new ManualClock(Date.UTC(2020, 4, 8, 18, 20));
    av = createAlphaVantageFetcher({ apiKey: KEY, baseUrl: srv.url, clock, symbolMapper: mapper });
    // Spaced by the per-second window (1 s plus the 250 ms margin).
    for (let i = 0; i < 5; i++) {
      await av.fetchLatest({ symbol: 'IBM', timeframe: '5m' });
      clock.advance(1_250);
    }
    const sent = srv.requests.length;
    const err = await failure(av.fetchLatest({ symbol: 'IBM', timeframe: '5m' }));
    // The first request leaves the 61.2 s minute window (60 s plus 2 %) 5 x 1.25 s later.
    expect([err.kind, err.retryAfterMs, srv.requests.length]).toEqual(['rate_limited', 61_200 - 6_250, sent]);
    expect(av.budget()).toEqual({
      perMinuteLeft: 0,
      perDayLeft: 20,
      dayResetsAt: Date.UTC(2020, 4, 9),
      blockedUntil: null,
    });
    expect(av.stats()).toMatchObject({ requests: 5, rateLimitedLocally: 1, failures: 1 });
  });

  it('indices and crypto bars are not asked for', async () => {
    make(Date.UTC(2020, 4, 8));
    const sent = srv.requests.length;
    expect((await failure(av.fetchLatest({ symbol: 'NAS100', timeframe: '1m' }))).kind).toBe(
      'symbol_not_found',
    );
    expect((await failure(av.fetchLatest({ symbol: 'BTCUSD', timeframe: '1m' }))).kind).toBe('not_supported');
    expect((await failure(av.fetchLatest({ symbol: 'EURUSD', timeframe: '1s' }))).kind).toBe('not_supported');
    expect(srv.requests.length).toBe(sent);
  });

  it('rejects a missing key and bad options', () => {
    expect(() => createAlphaVantageFetcher({ apiKey: '' })).toThrow(/apiKey/);
    expect(() => createAlphaVantageFetcher({ apiKey: KEY, intradayStamp: 'middle' as never })).toThrow(
      /intradayStamp.*"middle"/,
    );
    expect(() => createAlphaVantageFetcher({ apiKey: KEY, apikey: KEY } as never)).toThrow(
      /unknown option "apikey"/,
    );
  });
});

describe('parseAvCsv on the extended-hours CSV', () => {
  it('reads 673 one-minute bars 04:10..20:00 ET (2020, end stamps) as UTC opens, oldest first', () => {
    const stats = createFetcherStats();
    const bars = parseAvCsv(
      readFixture('alphavantage/time_series_intraday_extended-MSFT-1min-2020-12-18-prepost-csv-trimmed.csv'),
      {
        symbol: 'MSFT',
        timeframe: '1m',
        stamp: 'end',
        stats,
        timeZone: 'US/Eastern',
      },
    );
    expect(bars).toHaveLength(673);
    // Oldest first like every fetcher (the CSV is newest first; this test asserted that order before).
    expect(bars.at(-1)).toMatchObject({
      ts: Date.UTC(2020, 11, 19, 0, 59),
      open: 218.79,
      close: 218.75,
      volume: 1102,
    });
    expect(bars[0]).toMatchObject({
      ts: Date.UTC(2020, 11, 18, 9, 9),
      open: 219.38,
      close: 219.4,
      volume: 844,
    });
    expect(bars.every((b, i) => i === 0 || b.ts > bars[i - 1]!.ts)).toBe(true);
    expect(stats.nullRowsSkipped + stats.partialRowsSkipped).toBe(0);
  });
});
