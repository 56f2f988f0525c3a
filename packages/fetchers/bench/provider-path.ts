// The whole fetchLatest path of the HTTP provider fetchers (budget, request through the keep-alive
// client, body decode, rows -> bars, finish, counters) against a local server that answers every
// request with one recorded body. This is the path the shared HttpFetcherBase sits on; run it before
// and after a change to it. Run: pnpm --filter @pipeline/fetchers bench (BENCH_SCALE=5 for longer runs).
// FETCHERS_ENTRY=<path to another src/index.ts> measures another copy of the sources (e.g. the code
// before a refactor) and writes no JSON.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ManualClock, type Fetcher, type Timeframe } from '@pipeline/core';
import { writeBenchResult } from '@pipeline/test-utils';
import type * as FetchersEntry from '../src/index';

type Entry = typeof FetchersEntry;

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const here = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(here, '..', '..', '..');
const entryPath = process.env.FETCHERS_ENTRY;
const lib = (await import(entryPath ? pathToFileURL(resolve(entryPath)).href : '../src/index')) as Entry;
const fixture = (path: string) => readFileSync(resolve(repo, '..', 'shared', 'fixtures', path), 'utf8');

interface Case {
  name: string;
  body: string;
  make(baseUrl: string): Fetcher;
  symbol: string;
  timeframe: Timeframe;
  limit: number;
}
const KEY = 'bench-key';
const cases: Case[] = [
  {
    name: 'Yahoo fetchLatest 1m (391-point recorded chart)',
    body: fixture('yahoo/chart-AAPL-1m-2024-10-02-regular-hours-with-nulls.json'),
    make: (baseUrl) =>
      lib.createYahooFetcher({
        baseUrl,
        clock: new ManualClock(Date.UTC(2024, 9, 2, 21)),
        rateLimits: { perMinute: null },
      }),
    symbol: 'AAPL',
    timeframe: '1m',
    limit: 1000,
  },
  {
    name: 'Twelve Data fetchLatest 1m (recorded series)',
    body: fixture('twelvedata/time_series-AAPL-1min-2023-08-24.json'),
    make: (baseUrl) =>
      lib.createTwelveDataFetcher({
        apiKey: KEY,
        baseUrl,
        perMinute: null,
        perDay: null,
        clock: new ManualClock(Date.UTC(2023, 7, 25)),
      }),
    symbol: 'AAPL',
    timeframe: '1m',
    limit: 5000,
  },
  {
    name: 'Polygon fetchLatest 1h (recorded desc aggregates)',
    body: fixture('polygon/aggs-GME-60-minute-2021-12-01-to-2021-12-02-desc-extended-hours.json'),
    make: (baseUrl) =>
      lib.createPolygonFetcher({
        apiKey: KEY,
        baseUrl,
        perMinute: null,
        clock: new ManualClock(Date.UTC(2021, 11, 3)),
      }),
    symbol: 'GME',
    timeframe: '1h',
    limit: 5000,
  },
];

let current = '';
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(current);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const addr = server.address();
const baseUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

const REQUESTS = 1_000 * SCALE;
const CONCURRENCY = 10;
const rows = [];
for (const c of cases) {
  current = c.body;
  const fetcher = c.make(baseUrl);
  const once = () => fetcher.fetchLatest({ symbol: c.symbol, timeframe: c.timeframe, limit: c.limit });
  const perCall = (await once()).length;
  for (let i = 0; i < 50; i++) await once(); // warm-up
  let best = 0;
  for (let round = 0; round < 3; round++) {
    let next = 0;
    const t = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < REQUESTS) await once();
      }),
    );
    best = Math.max(best, REQUESTS / (Number(process.hrtime.bigint() - t) / 1e9));
  }
  await fetcher.close();
  rows.push({
    case: `${c.name}, ${perCall} bars per call, ${CONCURRENCY} in flight`,
    unit: 'bars/s',
    ours: Math.round(best * perCall),
    baseline: null,
    baselineValue: null,
    ratio: null,
    goal: null,
    pass: null,
  });
}
server.closeAllConnections();
await new Promise<void>((r) => server.close(() => r()));

console.table(rows.map(({ case: c, unit, ours }) => ({ case: c, unit, ours })));
if (entryPath === undefined) {
  const file = writeBenchResult('fetchers-provider-path', { package: '@pipeline/fetchers', rows });
  console.log(`wrote ${file}`);
}
