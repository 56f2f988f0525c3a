import { readFixture } from './paths';
import { type FixtureReply } from './fixture-server';

/**
 * A corpus of malformed provider payloads, each made by damaging one real recording from
 * ../shared/fixtures the way providers, proxies and networks actually damage them. None of them
 * may crash a consumer, and none may yield a bar that passes validation as if it were good.
 */
export interface MalformedPayload {
  /** Stable id, e.g. `yahoo/truncated-json`. */
  id: string;
  provider: 'yahoo' | 'alphavantage' | 'twelvedata' | 'polygon';
  /** The recording it was derived from. */
  base: string;
  description: string;
  reply: FixtureReply;
}

type Json = Record<string, unknown>;
const json = (body: unknown, status = 200): FixtureReply => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const html = (status: number): FixtureReply => ({
  status,
  headers: { 'content-type': 'text/html' },
  body: '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>',
});
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

const YAHOO = 'yahoo/chart-EURUSD_X-1d-2020-01-01-to-2020-01-03.json';
const AV = 'alphavantage/fx_intraday-EURUSD-5min-2020-05-06-trimmed.json';
const TD = 'twelvedata/time_series-AAPL-1min-2023-08-24.json';
const POLY = 'polygon/aggs-C-EURUSD-1-day-2023-01-01-to-2023-01-10-forex.json';

function yahooCases(): MalformedPayload[] {
  const raw = readFixture(YAHOO);
  const doc = JSON.parse(raw) as { chart: { result: Json[] } };
  const mut = (
    f: (result: Json & { timestamp: number[]; indicators: { quote: Json[] } }) => void,
  ): FixtureReply => {
    const d = clone(doc);
    f(d.chart.result[0] as never);
    return json(d);
  };
  type Quote = Record<'open' | 'high' | 'low' | 'close' | 'volume', unknown[]>;
  const q = (r: { indicators: { quote: Json[] } }): Quote => r.indicators.quote[0] as never;
  const cases: Array<[string, string, FixtureReply]> = [
    ['truncated-json', 'body cut in the middle', json(raw.slice(0, Math.floor(raw.length / 2)))],
    ['html-200', 'an HTML page with status 200', { ...html(200), status: 200 }],
    ['html-502', 'a proxy error page', html(502)],
    ['empty-body', 'status 200, no body', json('')],
    ['result-null', 'chart.result null and no error', json({ chart: { result: null, error: null } })],
    ['chart-string', 'chart is a string', json({ chart: 'oops' })],
    ['top-level-array', 'an array instead of an object', json([])],
    ['no-indicators', 'result without indicators', mut((r) => delete (r as Json).indicators)],
    ['length-mismatch', 'fewer closes than timestamps', mut((r) => q(r).close.pop())],
    ['string-prices', 'prices as strings', mut((r) => (q(r).close = q(r).close.map(String)))],
    ['negative-prices', 'negative lows', mut((r) => (q(r).low = q(r).low.map((v) => -Number(v))))],
    ['high-below-low', 'high and low swapped', mut((r) => ([q(r).high, q(r).low] = [q(r).low, q(r).high]))],
    ['nan-literal', 'a bare NaN in the JSON', json(raw.replace(/"close":\[[-0-9.e]+/, '"close":[NaN'))],
    [
      'ms-timestamps',
      'timestamps in milliseconds (bars 50,000 years ahead)',
      mut((r) => (r.timestamp = r.timestamp.map((t) => t * 1000))),
    ],
    [
      'all-null-quote',
      'every OHLC value null',
      mut((r) => {
        for (const k of ['open', 'high', 'low', 'close', 'volume'] as const)
          q(r)[k] = q(r)[k].map(() => null);
      }),
    ],
  ];
  return cases.map(([id, description, reply]) => ({
    id: `yahoo/${id}`,
    provider: 'yahoo',
    base: YAHOO,
    description,
    reply,
  }));
}

function alphaVantageCases(): MalformedPayload[] {
  const raw = readFixture(AV);
  const doc = JSON.parse(raw) as Json;
  const seriesKey = Object.keys(doc).find((k) => k.startsWith('Time Series'));
  if (seriesKey === undefined) throw new Error(`${AV} has no "Time Series" key`);
  const mut = (f: (series: Record<string, Record<string, string>>, d: Json) => void): FixtureReply => {
    const d = clone(doc);
    f(d[seriesKey] as never, d);
    return json(d);
  };
  const first = (s: Record<string, Record<string, string>>): Record<string, string> =>
    Object.values(s)[0] ?? {};
  const cases: Array<[string, string, FixtureReply]> = [
    [
      'missing-close',
      'a bar without "4. close"',
      mut((s) => {
        for (const bar of Object.values(s)) delete bar['4. close'];
      }),
    ],
    [
      'bad-date-key',
      'a timestamp key that is not a date',
      mut((s) => {
        s['not-a-date'] = first(s);
      }),
    ],
    [
      'text-prices',
      'prices that are not numbers',
      mut((s) => {
        for (const bar of Object.values(s)) bar['1. open'] = 'abc';
      }),
    ],
    [
      'no-timezone',
      'meta data without its time zone',
      mut((_s, d) => delete (d['Meta Data'] as Json)['7. Time Zone']),
    ],
    ['html-200', 'an HTML page with status 200', { ...html(200), status: 200 }],
    [
      'series-array',
      'the series is an array',
      mut((_s, d) => {
        d[seriesKey] = [];
      }),
    ],
  ];
  return cases.map(([id, description, reply]) => ({
    id: `alphavantage/${id}`,
    provider: 'alphavantage',
    base: AV,
    description,
    reply,
  }));
}

function twelveDataCases(): MalformedPayload[] {
  const raw = readFixture(TD);
  const doc = JSON.parse(raw) as { meta: Json; values: Array<Record<string, string>> };
  const mut = (f: (d: { meta: Json; values: Array<Record<string, string>> }) => void): FixtureReply => {
    const d = clone(doc);
    f(d);
    return json(d);
  };
  const firstValue = (d: { values: Array<Record<string, string>> }): Record<string, string> => {
    const v = d.values[0];
    if (v === undefined) throw new Error(`${TD} has no values`);
    return v;
  };
  const cases: Array<[string, string, FixtureReply]> = [
    [
      'values-object',
      'values is an object',
      mut((d) => {
        (d as Json).values = { a: 1 };
      }),
    ],
    [
      'bad-datetime',
      'a datetime that is not a date',
      mut((d) => {
        firstValue(d).datetime = '2023-13-45 99:99:99';
      }),
    ],
    [
      'negative-close',
      'a negative close',
      mut((d) => {
        firstValue(d).close = '-1';
      }),
    ],
    ['null-body', 'the body is JSON null', json('null')],
    ['truncated-json', 'body cut in the middle', json(raw.slice(0, Math.floor(raw.length / 3)))],
    [
      'missing-meta',
      'no meta block (time zone unknown)',
      mut((d) => {
        delete (d as Partial<typeof d>).meta;
      }),
    ],
  ];
  return cases.map(([id, description, reply]) => ({
    id: `twelvedata/${id}`,
    provider: 'twelvedata',
    base: TD,
    description,
    reply,
  }));
}

function polygonCases(): MalformedPayload[] {
  const raw = readFixture(POLY);
  const doc = JSON.parse(raw) as { results: Json[] } & Json;
  const mut = (f: (d: { results: Json[] } & Json) => void): FixtureReply => {
    const d = clone(doc);
    f(d);
    return json(d);
  };
  const cases: Array<[string, string, FixtureReply]> = [
    [
      'results-object',
      'results is an object',
      mut((d) => {
        (d as Json).results = { o: 1 };
      }),
    ],
    [
      'missing-t',
      'bars without a timestamp',
      mut((d) => {
        for (const r of d.results) delete r.t;
      }),
    ],
    [
      'string-open',
      'open as a string',
      mut((d) => {
        for (const r of d.results) r.o = String(r.o);
      }),
    ],
    [
      'status-error-200',
      'status ERROR with HTTP 200',
      json({ status: 'ERROR', request_id: 'x', error: 'internal' }),
    ],
    [
      'high-below-low',
      'high and low swapped',
      mut((d) => {
        for (const r of d.results) [r.h, r.l] = [r.l, r.h];
      }),
    ],
    [
      'infinite',
      'a number too large for a double (parses as Infinity)',
      json(raw.replace(/"c":[0-9.]+/, '"c":1e400')),
    ],
    [
      'negative-volume',
      'negative volume',
      mut((d) => {
        for (const r of d.results) r.v = -5;
      }),
    ],
    ['truncated-json', 'body cut in the middle', json(raw.slice(0, Math.floor(raw.length * 0.7)))],
  ];
  return cases.map(([id, description, reply]) => ({
    id: `polygon/${id}`,
    provider: 'polygon',
    base: POLY,
    description,
    reply,
  }));
}

/** Every malformed payload (35), in a stable order. */
export function malformedCorpus(): MalformedPayload[] {
  return [...yahooCases(), ...alphaVantageCases(), ...twelveDataCases(), ...polygonCases()];
}
