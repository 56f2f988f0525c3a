// The shared fault-mode suite (src/test/fault-modes.ts) run once per HTTP provider fetcher. Each
// descriptor holds only what differs: how to build and call the fetcher, and the provider's own
// truncated / HTML / 5xx bodies.
import { ManualClock } from '@pipeline/core';
import { fixtureReply } from '@pipeline/test-utils';
import { createAlphaVantageFetcher } from './alphavantage/fetcher';
import { createPolygonFetcher } from './polygon/fetcher';
import { describeFaultModes } from './testing/fault-modes';
import { createTwelveDataFetcher } from './twelvedata/fetcher';
import { createYahooFetcher } from './yahoo/fetcher';

const iso = (s: string) => Date.parse(s);
const html = (status: number, body: string) => ({
  status,
  body,
  headers: { 'content-type': 'text/html' },
});

describeFaultModes({
  source: 'yahoo',
  apiKey: undefined,
  timeoutMs: 400,
  make: (baseUrl, timeoutMs) =>
    createYahooFetcher({ baseUrl, timeoutMs, clock: new ManualClock(Date.UTC(2024, 9, 4, 12, 0, 0)) }),
  request: (f, signal) => f.fetchLatest({ symbol: 'EURUSD', timeframe: '1m', signal }),
  cases: [
    {
      name: 'truncated JSON',
      reply: { body: '{"chart":{"result":[{"meta":{}}]}}', truncateAt: 12 },
      kind: 'malformed',
    },
    {
      name: 'an HTML error page with 200',
      reply: html(200, '<!doctype html><html>Yahoo! - Error</html>'),
      kind: 'malformed',
    },
    { name: 'a 502 HTML page', reply: html(502, '<html>Bad Gateway</html>'), kind: 'transient' },
    {
      name: 'a JSON body without result',
      reply: { body: '{"chart":{"result":null,"error":null}}' },
      kind: 'malformed',
    },
  ],
  ok: () => fixtureReply('yahoo/chart-GC_F-1d-2020-01-01-to-2020-01-03.json'),
  okRequest: (f) =>
    f.fetchHistory({
      symbol: 'XAUUSD',
      timeframe: '1d',
      from: Date.UTC(2020, 0, 1),
      to: Date.UTC(2020, 0, 3),
    }),
  okBars: 1,
  slowMs: 150,
});

const AV_KEY = 'AVKEY-SECRET-42';
describeFaultModes({
  source: 'alphavantage',
  apiKey: AV_KEY,
  timeoutMs: 400,
  make: (baseUrl, timeoutMs) =>
    createAlphaVantageFetcher({
      apiKey: AV_KEY,
      baseUrl,
      timeoutMs,
      clock: new ManualClock(Date.UTC(2020, 4, 8, 18, 20)),
      rateLimits: { perMinute: null, perDay: null },
    }),
  request: (f, signal) => f.fetchLatest({ symbol: 'IBM', timeframe: '5m', signal }),
  cases: [
    {
      name: 'truncated JSON',
      reply: { body: '{"Meta Data": {"1. Information": "x"}}', truncateAt: 10 },
      kind: 'malformed',
    },
    { name: 'an HTML page', reply: html(200, '<html><h1>502 Bad Gateway</h1></html>'), kind: 'malformed' },
    {
      name: 'HTTP 503',
      reply: { status: 503, body: 'upstream down', headers: { 'content-type': 'text/plain' } },
      kind: 'transient',
    },
  ],
  ok: () => fixtureReply('alphavantage/time_series_intraday-IBM-5min-2020-05-08-trimmed.json'),
  okBars: 2,
});

const TD_KEY = 'td-secret-key-123456';
const tdIbm = fixtureReply('twelvedata/time_series-IBM-1day-2021-07-01.json');
describeFaultModes({
  source: 'twelvedata',
  apiKey: TD_KEY,
  timeoutMs: 300,
  make: (baseUrl, timeoutMs) =>
    createTwelveDataFetcher({
      apiKey: TD_KEY,
      baseUrl,
      timeoutMs,
      clock: new ManualClock(iso('2030-01-01T00:00:00Z')),
    }),
  request: (f, signal) => f.fetchLatest({ symbol: 'IBM', timeframe: '1d', signal }),
  cases: [
    { name: 'a truncated series', reply: { ...tdIbm, truncateAt: 200 }, kind: 'malformed' },
    { name: 'a 502 HTML page', reply: html(502, '<html><body>Bad Gateway</body></html>'), kind: 'transient' },
    {
      name: 'an HTML page with 200',
      reply: html(200, '<!doctype html><p>maintenance</p>'),
      kind: 'malformed',
    },
    {
      name: 'a 503 error body',
      reply: { status: 503, body: '{"code":503,"message":"service unavailable","status":"error"}' },
      kind: 'transient',
    },
  ],
  ok: () => tdIbm,
  okBars: 10,
  slowMs: 100,
  keyEcho: {
    reply: { body: `{"code":401,"message":"apikey ${TD_KEY} is not valid","status":"error"}` },
    kind: 'auth',
    message: '[twelvedata] error 401: apikey *** is not valid',
  },
});

const PG_KEY = 'pg-secret-key-987654';
const pgAapl = fixtureReply('polygon/aggs-AAPL-1-day-2023-01-01-to-2023-01-10-sci-notation-volume.json');
describeFaultModes({
  source: 'polygon',
  apiKey: PG_KEY,
  timeoutMs: 300,
  make: (baseUrl, timeoutMs) =>
    createPolygonFetcher({
      apiKey: PG_KEY,
      baseUrl,
      timeoutMs,
      perMinute: null,
      clock: new ManualClock(iso('2030-01-01T00:00:00Z')),
    }),
  request: (f, signal) => f.fetchLatest({ symbol: 'AAPL', timeframe: '1d', signal }),
  cases: [
    { name: 'truncated aggregates', reply: { ...pgAapl, truncateAt: 100 }, kind: 'malformed' },
    { name: 'a 502 HTML page', reply: html(502, '<html>502 Bad Gateway</html>'), kind: 'transient' },
    {
      name: 'a captive-portal HTML page with 200',
      reply: html(200, '<html>captive portal</html>'),
      kind: 'malformed',
    },
    {
      name: 'a 500 error body',
      reply: { status: 500, body: '{"status":"ERROR","error":"internal"}' },
      kind: 'transient',
    },
  ],
  ok: () => pgAapl,
  okBars: 6,
  slowMs: 100,
  keyEcho: {
    reply: { status: 401, body: `{"status":"ERROR","error":"Unknown API Key ${PG_KEY}"}` },
    kind: 'auth',
    message: '[polygon] ERROR: Unknown API Key ***',
  },
});
