import { ManualClock } from '@pipeline/core';
import { createSymbolMapper } from '@pipeline/symbol-mapper';
import { fixtureReply, readFixture } from '@pipeline/test-utils';
import { createTwelveDataFetcher, type TwelveDataFetcher, type TwelveDataFetcherOptions } from './fetcher';
import { failure as failureOf } from '../testing/failure';
import { useFixtureServer } from '../testing/use-fixture-server';

const KEY = 'td-secret-key-123456';
const iso = (s: string) => Date.parse(s);

const { srv, track } = useFixtureServer(() => ({ status: 500, body: 'no handler' }));

function make(opts: Partial<TwelveDataFetcherOptions> = {}): TwelveDataFetcher {
  const f = createTwelveDataFetcher({
    apiKey: KEY,
    baseUrl: srv.url,
    clock: new ManualClock(iso('2030-01-01T00:00:00Z')),
    ...opts,
  });
  return track(f);
}

const failure = (p: Promise<unknown>) => failureOf(p, KEY);

describe('TwelveDataFetcher against recorded responses', () => {
  it('reads the AAPL 1min series: newest-first strings -> ascending UTC bars, forming bar last', async () => {
    srv.setHandler(() => fixtureReply('twelvedata/time_series-AAPL-1min-2023-08-24.json'));
    // 15:09:30Z is inside the last bar (11:09 EDT = 15:09Z), so that bar is still forming.
    const f = make({ clock: new ManualClock(iso('2023-08-24T15:09:30Z')) });
    const bars = await f.fetchLatest({ symbol: 'AAPL', timeframe: '1m', limit: 30 });
    expect(bars).toHaveLength(30);
    expect(bars[0]).toEqual({
      symbol: 'AAPL',
      timeframe: '1m',
      ts: iso('2023-08-24T14:40:00Z'),
      open: 178.16,
      high: 178.2206,
      low: 178.03999,
      close: 178.07001,
      volume: 175143,
      source: 'twelvedata',
      final: true,
      quality: 1,
    });
    const last = bars[29];
    expect(last!.ts).toBe(iso('2023-08-24T15:09:00Z'));
    expect([last!.open, last!.close, last!.volume, last!.final]).toEqual([
      177.9101,
      178.00121,
      293189,
      false,
    ]);
    for (let i = 1; i < bars.length; i++) expect(bars[i]!.ts - bars[i - 1]!.ts).toBe(60_000);
    const q = srv.requests.at(-1)!;
    expect(q.path).toBe('/time_series');
    expect(Object.fromEntries(q.query)).toEqual({
      symbol: 'AAPL',
      interval: '1min',
      outputsize: '30',
      apikey: KEY,
    });
    expect(f.stats()).toMatchObject({ requests: 1, bars: 30, failures: 0 });
  });

  it('reads the IBM daily series as trading dates at 00:00 UTC and honours limit', async () => {
    srv.setHandler(() => fixtureReply('twelvedata/time_series-IBM-1day-2021-07-01.json'));
    const f = make();
    const all = await f.fetchLatest({ symbol: 'IBM', timeframe: '1d', limit: 30 });
    expect(all).toHaveLength(30);
    expect(all[0]).toMatchObject({
      ts: iso('2021-05-20T00:00:00Z'),
      open: 143.17,
      high: 144.89999,
      low: 142.16,
      close: 143.87,
      volume: 3666726,
      final: true,
    });
    expect(all[29]).toMatchObject({
      ts: iso('2021-07-01T00:00:00Z'),
      open: 146.96001,
      close: 146.84,
      volume: 2665427,
      final: true,
    });
    const five = await f.fetchLatest({ symbol: 'IBM', timeframe: '1d', limit: 5 });
    expect(five.map((b) => b.ts)).toEqual(all.slice(25).map((b) => b.ts));
  });

  it('skips and counts null rows instead of turning them into zeros', async () => {
    const body = JSON.parse(readFixture('twelvedata/time_series-IBM-1day-2021-07-01.json'));
    body.values[3] = {
      datetime: body.values[3].datetime,
      open: null,
      high: null,
      low: null,
      close: null,
      volume: null,
    };
    body.values[5].open = null;
    body.values[7].high = '0.5'; // high below low: contradicting OHLC
    srv.setHandler(() => ({ body: JSON.stringify(body) }));
    const f = make();
    const bars = await f.fetchLatest({ symbol: 'IBM', timeframe: '1d', limit: 30 });
    expect(bars).toHaveLength(27);
    expect(bars.some((b) => b.open === 0 || b.close === 0)).toBe(false);
    expect(bars.map((b) => b.ts)).not.toContain(iso('2021-06-28T00:00:00Z'));
    expect(f.stats()).toMatchObject({
      nullRowsSkipped: 1,
      partialRowsSkipped: 1,
      inconsistentRowsSkipped: 1,
    });
  });

  it('splits a batch answer per symbol (forex: no volume, no exchange_timezone)', async () => {
    srv.setHandler(() =>
      fixtureReply('twelvedata/batch-time_series-USD-CZK-EUR-GBP-CHF-1day-2023-08-04.json'),
    );
    const mapper = createSymbolMapper({
      entries: [
        {
          symbol: 'USDCZK',
          assetClass: 'fx',
          base: 'USD',
          quote: 'CZK',
          priceMultiplier: 0.0001,
          providers: { twelvedata: 'USD/CZK' },
        },
        {
          symbol: 'USDEUR',
          assetClass: 'fx',
          base: 'USD',
          quote: 'EUR',
          priceMultiplier: 0.0001,
          providers: { twelvedata: 'USD/EUR' },
        },
        {
          symbol: 'USDGBP',
          assetClass: 'fx',
          base: 'USD',
          quote: 'GBP',
          priceMultiplier: 0.0001,
          providers: { twelvedata: 'USD/GBP' },
        },
      ],
    });
    const f = make({ symbolMapper: mapper });
    const res = await f.fetchLatestBatch(['USDCZK', 'USDEUR', 'USDGBP', 'USDCHF'], '1d', { limit: 4 });
    expect(Object.fromEntries(srv.requests.at(-1)!.query)).toMatchObject({
      symbol: 'USD/CZK,USD/EUR,USD/GBP,USD/CHF',
      interval: '1day',
      outputsize: '4',
    });
    expect([...res.keys()]).toEqual(['USDCZK', 'USDEUR', 'USDGBP', 'USDCHF']);
    const czk = res.get('USDCZK') as unknown as { ts: number; open: number; close: number; volume: number }[];
    expect(czk).toHaveLength(4);
    expect(czk[0]).toMatchObject({
      ts: iso('2023-08-01T00:00:00Z'),
      open: 21.7225,
      close: 21.8184,
      volume: 0,
    });
    expect(czk[3]).toMatchObject({ ts: iso('2023-08-04T00:00:00Z'), open: 22.11, close: 22.0353 });
    expect((res.get('USDCHF') as unknown as { close: number }[])[3]!.close).toBe(0.8729);
    // four credits for one request
    expect(f.budget().perMinuteLeft).toBe(4);
    expect(f.stats().requests).toBe(1);
  });

  it('reads /quote and /price', async () => {
    srv.setHandler((req) =>
      fixtureReply(
        req.path === '/quote'
          ? 'twelvedata/quote-IBM-2021-07-01.json'
          : 'twelvedata/price-IBM-2021-07-01.json',
      ),
    );
    const f = make();
    expect(await f.quote('IBM')).toEqual({
      symbol: 'IBM',
      name: 'International Business Machines Corp',
      ts: iso('2021-07-01T00:00:00Z'),
      open: 146.96001,
      high: 147.5,
      low: 146.55,
      close: 146.84,
      volume: 2665427,
      previousClose: 146.59,
    });
    expect(await f.price('IBM')).toBe(146.55);
    expect(srv.requests.at(-1)!.path).toBe('/price');
  });
});

describe('TwelveDataFetcher error bodies', () => {
  const cases: [string, string, number, string][] = [
    ['twelvedata/error-400-invalid-interval.json', 'bad_request', 400, 'Invalid **interval**'],
    ['twelvedata/error-401-invalid-apikey.json', 'auth', 401, 'apikey'],
    ['twelvedata/error-404-nothing-found.json', 'symbol_not_found', 404, 'nothing found'],
    ['twelvedata/error-429-out-of-api-credits.json', 'rate_limited', 429, 'run out of API credits'],
  ];
  for (const [file, kind, code, text] of cases) {
    for (const http of [200, code]) {
      it(`${file} served with HTTP ${http} -> ${kind}`, async () => {
        srv.setHandler(() => fixtureReply(file, { status: http }));
        const f = make({ clock: new ManualClock(iso('2024-01-02T10:00:15Z')) });
        const err = await failure(f.fetchLatest({ symbol: 'IBM', timeframe: '1d' }));
        expect(err.kind).toBe(kind);
        expect(err.status).toBe(http);
        expect(err.symbol).toBe('IBM');
        expect(err.message).toContain(text);
        if (kind === 'rate_limited') expect(err.retryAfterMs).toBe(45_000); // until the next minute
      });
    }
  }

  it('treats the plain-text "404 page not found" as a bad request (wrong path), not an unknown symbol', async () => {
    srv.setHandler(() => fixtureReply('twelvedata/error-404-page-not-found.txt'));
    const err = await failure(make().fetchLatest({ symbol: 'IBM', timeframe: '1d' }));
    expect([err.kind, err.status]).toEqual(['bad_request', 404]);
  });

  it('after a provider 429 refuses locally until the next minute, without sending', async () => {
    const clock = new ManualClock(iso('2024-01-02T10:00:15Z'));
    srv.setHandler(() => fixtureReply('twelvedata/error-429-out-of-api-credits.json'));
    const f = make({ clock });
    await failure(f.fetchLatest({ symbol: 'IBM', timeframe: '1d' }));
    const sent = srv.requests.length;
    const local = await failure(f.fetchLatest({ symbol: 'IBM', timeframe: '1d' }));
    expect(local.kind).toBe('rate_limited');
    expect(local.retryAfterMs).toBe(45_000);
    expect(srv.requests.length).toBe(sent);
    srv.setHandler(() => fixtureReply('twelvedata/time_series-IBM-1day-2021-07-01.json'));
    clock.advance(45_000);
    await expect(f.fetchLatest({ symbol: 'IBM', timeframe: '1d' })).resolves.toHaveLength(10);
  });
});

describe('TwelveDataFetcher rate budget, timeframes and options', () => {
  it('spends 8 credits per minute, then refuses without a request until the window frees', async () => {
    const clock = new ManualClock(iso('2024-01-02T10:00:00Z'));
    srv.setHandler(() => fixtureReply('twelvedata/price-IBM-2021-07-01.json'));
    const f = make({ clock });
    const before = srv.requests.length;
    for (let i = 0; i < 8; i++) await f.price('IBM');
    const err = await failure(f.price('IBM'));
    expect(err.kind).toBe('rate_limited');
    // 60 s plus the budget's safety margin (2 % of the window: 1.2 s), so skew never lets a 9th in.
    expect(err.retryAfterMs).toBe(61_200);
    expect(srv.requests.length - before).toBe(8);
    expect(f.budget()).toEqual({
      perMinuteLeft: 0,
      perDayLeft: 792,
      dayResetsAt: iso('2024-01-03T00:00:00Z'),
      blockedUntil: null,
    });
    expect(f.stats().rateLimitedLocally).toBe(1);
    clock.advance(60_000);
    expect((await failure(f.price('IBM'))).retryAfterMs).toBe(1_200); // at 60 s: still inside the margin
    clock.advance(1_200);
    await expect(f.price('IBM')).resolves.toBe(146.55);
  });

  it('answers 1s requests with not_supported without sending', async () => {
    const f = make();
    const before = srv.requests.length;
    const err = await failure(f.fetchLatest({ symbol: 'AAPL', timeframe: '1s' }));
    expect(err.kind).toBe('not_supported');
    expect(srv.requests.length).toBe(before);
    expect(f.capabilities.timeframes).not.toContain('1s');
  });

  it('rejects bad options at construction, quoting the value', () => {
    expect(() => createTwelveDataFetcher({ apiKey: KEY, baseUrl: srv.url, pageSiz: 10 } as never)).toThrow(
      /unknown option "pageSiz"/,
    );
    expect(() => createTwelveDataFetcher({ apiKey: '' })).toThrow(/apiKey/);
    expect(() => createTwelveDataFetcher({ apiKey: KEY, pageSize: 9000 })).toThrow(/pageSize.*9000/);
    expect(() => createTwelveDataFetcher({ apiKey: KEY, baseUrl: 'ftp://x' })).toThrow(/"ftp:\/\/x"/);
  });
});

describe('TwelveDataFetcher history paging (outputsize cursor) across a DST change', () => {
  // A server that behaves like /time_series: rows stamped in New York wall time, newest first, the
  // newest `outputsize` rows with start_date <= datetime <= end_date.
  const fmt = new Intl.DateTimeFormat('en-CA', {
    timeZone: 'America/New_York',
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const local = (ms: number) => {
    const p = Object.fromEntries(fmt.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
  };
  const HOUR = 3_600_000;
  const series: { ts: number; row: Record<string, string> }[] = [];
  for (let ts = iso('2023-03-09T00:00:00Z'); ts < iso('2023-03-15T00:00:00Z'); ts += HOUR) {
    const px = 100 + (ts - iso('2023-03-09T00:00:00Z')) / HOUR / 100;
    series.push({
      ts,
      row: {
        datetime: local(ts),
        open: px.toFixed(5),
        high: (px + 0.5).toFixed(5),
        low: (px - 0.5).toFixed(5),
        close: (px + 0.1).toFixed(5),
        volume: '1000',
      },
    });
  }
  const handler = (req: { query: URLSearchParams }) => {
    const start = req.query.get('start_date')!;
    const end = req.query.get('end_date')!;
    const size = Number(req.query.get('outputsize'));
    const rows = series
      .filter((s) => s.row.datetime! >= start && s.row.datetime! <= end)
      .reverse()
      .slice(0, size)
      .map((s) => s.row);
    return {
      body: JSON.stringify({
        meta: { symbol: 'AAPL', interval: '1h', exchange_timezone: 'America/New_York' },
        values: rows,
        status: 'ok',
      }),
    };
  };

  it('pages back with end_date = oldest datetime received until from is covered; hours stay 1 h apart over the jump', async () => {
    srv.setHandler(handler);
    const f = make({ pageSize: 10 });
    const from = iso('2023-03-11T20:00:00Z');
    const to = iso('2023-03-12T20:00:00Z');
    const before = srv.requests.length;
    const progress: number[] = [];
    const bars = await f.fetchHistory({
      symbol: 'AAPL',
      timeframe: '1h',
      from,
      to,
      onProgress: (p) => progress.push(p.requestsDone),
    });
    const reqs = srv.requests.slice(before).filter((r) => r.query.get('interval') === '1h');
    expect(bars.map((b) => b.ts)).toEqual(series.filter((s) => s.ts >= from && s.ts < to).map((s) => s.ts));
    expect(bars).toHaveLength(24);
    // 02:00-03:00 New York does not exist on 2023-03-12: 01:00 EST and 03:00 EDT are one hour apart.
    const i = bars.findIndex((b) => b.ts === iso('2023-03-12T06:00:00Z'));
    expect([bars[i]!.ts - bars[i - 1]!.ts, bars[i + 1]!.ts - bars[i]!.ts]).toEqual([HOUR, HOUR]);
    expect(reqs.length).toBeGreaterThanOrEqual(3);
    expect(progress).toEqual(reqs.map((_, k) => k + 1));
    for (let k = 1; k < reqs.length; k++) {
      const prevRows = handler(reqs[k - 1]!).body;
      const oldest = JSON.parse(prevRows).values.at(-1).datetime;
      expect(reqs[k]!.query.get('end_date')).toBe(oldest);
      expect(reqs[k]!.query.get('outputsize')).toBe('10');
    }
    expect(f.stats().bars).toBe(24);
  });

  it('stops after one short page and returns [] for an empty range', async () => {
    srv.setHandler(handler);
    const f = make({ pageSize: 5000 });
    const before = srv.requests.length;
    const bars = await f.fetchHistory({
      symbol: 'AAPL',
      timeframe: '1h',
      from: iso('2023-03-10T00:00:00Z'),
      to: iso('2023-03-14T00:00:00Z'),
    });
    expect(bars).toHaveLength(96);
    expect(srv.requests.length - before).toBe(1);
    expect(await f.fetchHistory({ symbol: 'AAPL', timeframe: '1h', from: 5, to: 5 })).toEqual([]);
  });
});

describe('TwelveDataFetcher edge cases', () => {
  it('tells the two occurrences of the repeated fall-back hour apart by their order (New York, 2023-11-05)', async () => {
    const times = ['02:00', '01:30', '01:00', '01:30', '01:00', '00:30', '00:00']; // newest first, as sent
    const values = times.map((t, i) => ({
      datetime: `2023-11-05 ${t}:00`,
      open: `${100 + i}`,
      high: `${101 + i}`,
      low: `${99 + i}`,
      close: `${100 + i}`,
      volume: '10',
    }));
    srv.setHandler(() => ({
      body: JSON.stringify({
        meta: { symbol: 'AAPL', interval: '30min', exchange_timezone: 'America/New_York' },
        values,
        status: 'ok',
      }),
    }));
    const bars = await make().fetchLatest({ symbol: 'AAPL', timeframe: '30m', limit: 7 });
    expect(bars.map((b) => new Date(b.ts).toISOString().slice(11, 16))).toEqual([
      '04:00',
      '04:30',
      '05:00',
      '05:30',
      '06:00',
      '06:30',
      '07:00',
    ]);
    expect(bars.map((b) => b.open)).toEqual([106, 105, 104, 103, 102, 101, 100]);
  });

  it('a batch entry that is an error object fails only that symbol', async () => {
    const body = JSON.parse(
      readFixture('twelvedata/batch-time_series-USD-CZK-EUR-GBP-CHF-1day-2023-08-04.json'),
    );
    const good = body['USD/CHF'];
    srv.setHandler(() => ({
      body: JSON.stringify({
        'EUR/USD': { code: 404, message: 'symbol not found in this batch', status: 'error' },
        'USD/CHF': good,
      }),
    }));
    const res = await make().fetchLatestBatch(['EURUSD', 'USDCHF', 'NOT-A-SYMBOL!'], '1d', { limit: 4 });
    expect(srv.requests.at(-1)!.query.get('symbol')).toBe('EUR/USD,USD/CHF');
    expect(res.get('EURUSD')).toMatchObject({ kind: 'symbol_not_found', symbol: 'EURUSD' });
    expect(res.get('NOT-A-SYMBOL!')).toMatchObject({ kind: 'symbol_not_found' });
    expect(res.get('USDCHF')).toHaveLength(4);
  });

  it('an unknown generic symbol is symbol_not_found without a request', async () => {
    const f = make();
    const before = srv.requests.length;
    const err = await failure(f.fetchLatest({ symbol: 'NOT-A-SYMBOL!', timeframe: '1d' }));
    expect([err.kind, srv.requests.length]).toEqual(['symbol_not_found', before]);
  });

  it('history over a range without bars ("No data is available", error 400) is empty, not a failure', async () => {
    // Twelve Data's wording for an empty date range (not a recording).
    srv.setHandler(() => ({
      body: '{"code":400,"message":"No data is available on the specified dates. Try setting different start/end dates.","status":"error"}',
    }));
    const f = make();
    await expect(
      f.fetchHistory({
        symbol: 'AAPL',
        timeframe: '1h',
        from: iso('2023-03-11T00:00:00Z'),
        to: iso('2023-03-12T00:00:00Z'),
      }),
    ).resolves.toEqual([]);
    expect(f.stats().failures).toBe(0);
    // fetchLatest does not send dates, so there the same answer stays an error
    expect((await failure(f.fetchLatest({ symbol: 'AAPL', timeframe: '1h' }))).kind).toBe('bad_request');
  });

  it('a daily-credits 429 blocks until 00:00 UTC', async () => {
    const clock = new ManualClock(iso('2024-01-02T18:00:00Z'));
    srv.setHandler(() => ({
      body: '{"code":429,"message":"You have run out of API credits for the day. 800 API credits were used","status":"error"}',
    }));
    const f = make({ clock });
    const err = await failure(f.fetchLatest({ symbol: 'IBM', timeframe: '1d' }));
    expect([err.kind, err.retryAfterMs]).toEqual(['rate_limited', 6 * 3_600_000]);
    expect(f.budget().perDayLeft).toBe(0);
    const local = await failure(f.fetchLatest({ symbol: 'IBM', timeframe: '1d' }));
    // Locally the new day starts 1.2 s after 00:00 UTC (the budget's margin against clock skew).
    expect(local.retryAfterMs).toBe(6 * 3_600_000 + 1_200);
  });
});
