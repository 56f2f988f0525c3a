// The Fetcher contract (same checks as src/fetcher-contract.int.test.ts) for the Twelve Data and
// Polygon fetchers: a real local server answers in each provider's own format with bars from the
// synthetic source, so the whole path (URL, paging, parsing, time zones, forming bar) is exercised.
import {
  ManualClock,
  TIMEFRAME_MS,
  isFetchError,
  type Bar,
  type Fetcher,
  type Timeframe,
} from '@pipeline/core';
import { createSymbolMapper } from '@pipeline/symbol-mapper';
import { startFixtureServer, type FixtureServer, type RecordedRequest } from '@pipeline/test-utils';
import { createSyntheticFetcher } from '../synthetic/fetcher';
import { createTwelveDataFetcher } from '../twelvedata/fetcher';
import { createPolygonFetcher } from './fetcher';
import { assertContractBars } from '../testing/contract';

const NOW = Date.UTC(2024, 5, 3, 14, 7, 30); // a Monday, mid-bar
const H = 3_600_000;
const mapper = createSymbolMapper();

interface Subject {
  fetcher: Fetcher;
  clock: ManualClock;
  symbol: string;
  timeframe: '1m' | '5m';
  server: FixtureServer;
}

/** New York wall time of an instant, in Twelve Data's `datetime` format. */
const nyFormat = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'America/New_York',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});
function nyText(ms: number): string {
  const p = Object.fromEntries(nyFormat.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** Synthetic bars that exist at `clock` time (the forming one included). */
async function barsAt(
  clock: ManualClock,
  symbol: string,
  timeframe: Timeframe,
  from: number,
  to: number,
): Promise<Bar[]> {
  const synthetic = createSyntheticFetcher({ clock });
  const bars = await synthetic.fetchHistory({ symbol, timeframe, from, to: Math.min(to, clock.now() + 1) });
  await synthetic.close();
  return bars;
}

/** /time_series: newest first, strings, New York wall times, newest `outputsize` rows of [start_date, end_date]. */
function twelveDataHandler(clock: ManualClock) {
  return async (req: RecordedRequest) => {
    const generic = mapper.fromProvider(req.query.get('symbol') ?? '', 'twelvedata');
    const timeframe = ({ '1min': '1m', '5min': '5m' } as Record<string, Timeframe>)[
      req.query.get('interval') ?? ''
    ];
    if (generic === null || timeframe === undefined)
      return { body: '{"code":400,"message":"bad request","status":"error"}' };
    const size = Number(req.query.get('outputsize') ?? 30);
    const start = req.query.get('start_date') ?? '0000';
    const end = req.query.get('end_date') ?? '9999';
    const bars = await barsAt(clock, generic, timeframe, clock.now() - 4 * 86_400_000, clock.now() + 1);
    const values = bars
      .map((b) => ({
        datetime: nyText(b.ts),
        open: b.open.toFixed(5),
        high: b.high.toFixed(5),
        low: b.low.toFixed(5),
        close: b.close.toFixed(5),
      }))
      .filter((r) => r.datetime >= start && r.datetime <= end)
      .reverse()
      .slice(0, size);
    return {
      body: JSON.stringify({
        meta: {
          symbol: req.query.get('symbol'),
          interval: req.query.get('interval'),
          exchange_timezone: 'America/New_York',
        },
        values,
        status: 'ok',
      }),
    };
  };
}

/** /v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to} with ms bounds, sort and limit. */
function polygonHandler(clock: ManualClock) {
  return async (req: RecordedRequest) => {
    const m = /^\/v2\/aggs\/ticker\/([^/]+)\/range\/(\d+)\/(\w+)\/(\d+)\/(\d+)$/.exec(req.path);
    const generic = m ? mapper.fromProvider(decodeURIComponent(m[1]!), 'polygon') : null;
    const timeframe = m
      ? ({ '1minute': '1m', '5minute': '5m' } as Record<string, Timeframe>)[`${m[2]}${m[3]}`]
      : undefined;
    if (!m || generic === null || timeframe === undefined)
      return { status: 400, body: '{"status":"ERROR","error":"bad request"}' };
    let bars = await barsAt(clock, generic, timeframe, Number(m[4]), Number(m[5]) + 1);
    if (req.query.get('sort') === 'desc') bars = bars.reverse();
    bars = bars.slice(0, Number(req.query.get('limit') ?? 5000));
    const results = bars.map((b) => ({
      o: b.open,
      h: b.high,
      l: b.low,
      c: b.close,
      v: b.volume,
      t: b.ts,
      n: 1,
    }));
    return {
      body: JSON.stringify({
        ticker: decodeURIComponent(m[1]!),
        status: 'OK',
        resultsCount: results.length,
        results,
      }),
    };
  };
}

const subjects: Record<string, () => Promise<Subject>> = {
  'twelvedata (format server)': async () => {
    const clock = new ManualClock(NOW);
    const server = await startFixtureServer(twelveDataHandler(clock));
    const fetcher = createTwelveDataFetcher({
      apiKey: 'contract-key',
      baseUrl: server.url,
      clock,
      perMinute: null,
      perDay: null,
    });
    return { fetcher, clock, symbol: 'EURUSD', timeframe: '1m', server };
  },
  'polygon (format server)': async () => {
    const clock = new ManualClock(NOW);
    const server = await startFixtureServer(polygonHandler(clock));
    const fetcher = createPolygonFetcher({
      apiKey: 'contract-key',
      baseUrl: server.url,
      clock,
      perMinute: null,
    });
    return { fetcher, clock, symbol: 'XAUUSD', timeframe: '5m', server };
  },
};

describe.each(Object.keys(subjects))('Fetcher contract: %s', (name) => {
  let s: Subject;
  beforeEach(async () => {
    s = await subjects[name]!();
  });
  afterEach(async () => {
    await s.fetcher.close();
    await s.server.close();
  });

  it('fetchLatest: at most `limit` bars, ascending, unique, generic symbol, only the forming bar non-final', async () => {
    const bars = await s.fetcher.fetchLatest({ symbol: s.symbol, timeframe: s.timeframe, limit: 5 });
    expect(bars).toHaveLength(5);
    assertContractBars(bars, s);
    expect(bars.at(-1)!.final).toBe(false);
    expect(bars.at(-1)!.ts).toBe(NOW - (NOW % TIMEFRAME_MS[s.timeframe]));
  });

  it('fetchHistory: bars inside [from, to), same rules, every bar of the range', async () => {
    const from = NOW - 2 * H;
    const to = NOW - H;
    const bars = await s.fetcher.fetchHistory({ symbol: s.symbol, timeframe: s.timeframe, from, to });
    expect(bars).toHaveLength(H / TIMEFRAME_MS[s.timeframe]);
    assertContractBars(bars, s);
    expect(bars.every((b) => b.ts >= from && b.ts < to)).toBe(true);
    const reference = await barsAt(s.clock, s.symbol, s.timeframe, from, to);
    // the Twelve Data format server sends prices as 5-decimal strings, the Polygon one as JSON numbers
    const sent = s.fetcher.source === 'twelvedata' ? (x: number) => Number(x.toFixed(5)) : (x: number) => x;
    expect(bars.map((b) => [b.ts, b.close])).toEqual(reference.map((b) => [b.ts, sent(b.close)]));
  });

  it('capabilities and budget have the documented shape', () => {
    expect(s.fetcher.capabilities.source).toBe(s.fetcher.source);
    expect(s.fetcher.capabilities.timeframes).toContain(s.timeframe);
    expect(Object.keys(s.fetcher.budget()).sort()).toEqual([
      'blockedUntil',
      'dayResetsAt',
      'perDayLeft',
      'perMinuteLeft',
    ]);
  });

  it('rejects an unknown timeframe as bad_request, and an aborted signal as aborted', async () => {
    const bad = await s.fetcher
      .fetchLatest({ symbol: s.symbol, timeframe: '2h' as never })
      .catch((e: unknown) => e);
    expect(isFetchError(bad) && bad.kind).toBe('bad_request');
    const ac = new AbortController();
    ac.abort();
    const aborted = await s.fetcher
      .fetchHistory({ symbol: s.symbol, timeframe: s.timeframe, from: NOW - H, to: NOW, signal: ac.signal })
      .catch((e: unknown) => e);
    expect(isFetchError(aborted) && aborted.kind).toBe('aborted');
  });
});
