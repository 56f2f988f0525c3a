// Throughput of the fetchers' own work, so the 1-second collection loop can be budgeted:
// parsing a recorded Yahoo body, a full request through the keep-alive got client against a local
// server (vs Node's built-in fetch), and the synthetic source. Run: pnpm --filter @pipeline/fetchers bench
// (BENCH_SCALE=5 for longer runs).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '@pipeline/core';
import { writeBenchResult } from '@pipeline/test-utils';
import { createFetcherStats } from '../src/base/stats';
import { createHttpClient, createSyntheticFetcher } from '../src/index';
import { parseChartBars } from '../src/yahoo/parse';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const repo = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');
const fixtureFile = (name: string) =>
  readFileSync(resolve(repo, '..', 'shared', 'fixtures', 'yahoo', name), 'utf8');
const daily = fixtureFile('chart-EURUSD_X-1d-2020-full-year.json');
const minutes = fixtureFile('chart-AAPL-1m-2024-10-02-regular-hours-with-nulls.json');

/** Best of 5 rounds after a warm-up: operations per second. */
async function rate(ops: number, run: () => unknown): Promise<number> {
  for (let i = 0; i < Math.max(1, ops / 10); i++) await run();
  let best = 0;
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) await run();
    best = Math.max(best, ops / (Number(process.hrtime.bigint() - t) / 1e9));
  }
  return best;
}

// 1. Parse: JSON.parse + rows -> bars, a 391-point 1m body and a 264-bar daily one (time-zone work).
const stats = createFetcherStats();
const parseOps = 300 * SCALE;
const minutePerS = await rate(parseOps, () =>
  parseChartBars(JSON.parse(minutes), { symbol: 'AAPL', timeframe: '1m', includePrePost: false, stats }),
);
const dailyPerS = await rate(parseOps, () =>
  parseChartBars(JSON.parse(daily), { symbol: 'EURUSD', timeframe: '1d', includePrePost: false, stats }),
);

// 2. HTTP: 2,000 GETs of a 2 KB JSON body, 10 in flight, ours (got + keep-alive pool of 10) vs fetch.
const body = JSON.stringify({
  chart: {
    result: [
      {
        meta: {},
        timestamp: Array.from({ length: 60 }, (_, i) => i),
        indicators: { quote: [{ close: Array.from({ length: 60 }, () => 1.0812) }] },
      },
    ],
  },
});
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const addr = server.address();
const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/v8/finance/chart/EURUSD=X`;
const REQUESTS = 2_000 * SCALE;
const CONCURRENCY = 10;
async function requestsPerS(get: () => Promise<unknown>): Promise<number> {
  let best = 0;
  for (let round = 0; round < 3; round++) {
    let next = 0;
    const t = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < REQUESTS) await get();
      }),
    );
    best = Math.max(best, REQUESTS / (Number(process.hrtime.bigint() - t) / 1e9));
  }
  return best;
}
const http = createHttpClient({ source: 'yahoo', poolSize: CONCURRENCY });
const oursRps = await requestsPerS(() =>
  http.getJson(url, { searchParams: { interval: '1m', range: '1d' } }),
);
const fetchRps = await requestsPerS(async () => (await fetch(`${url}?interval=1m&range=1d`)).json());
await http.close();
server.closeAllConnections();
await new Promise<void>((r) => server.close(() => r()));

// 3. Synthetic bars per second (1m: per-second detail of the forming minute; 1d: 1,440 minutes per bar).
const clock = new ManualClock(Date.UTC(2024, 5, 1));
const synthetic = createSyntheticFetcher({ clock });
let sym = 0;
const bars1m = 1_000;
const oneMinute =
  (await rate(20 * SCALE, () =>
    synthetic.fetchLatest({ symbol: `S${sym++ % 50}`, timeframe: '1m', limit: bars1m }),
  )) * bars1m;
const bars1d = 30;
const oneDay =
  (await rate(5 * SCALE, () =>
    synthetic.fetchLatest({ symbol: `D${sym++ % 50}`, timeframe: '1d', limit: bars1d }),
  )) * bars1d;

const round = (n: number) => Math.round(n);
const rows = [
  {
    case: 'parse Yahoo 1m chart body (391 points, JSON.parse included)',
    unit: 'bodies/s',
    ours: round(minutePerS),
    baseline: null,
    baselineValue: null,
    ratio: null,
    goal: '>= 100 bodies/s (a 1 s cycle of 100 symbols)',
    pass: minutePerS >= 100,
  },
  {
    case: 'parse Yahoo 1d chart body (264 bars re-stamped via Intl time zones)',
    unit: 'bodies/s',
    ours: round(dailyPerS),
    baseline: null,
    baselineValue: null,
    ratio: null,
    goal: null,
    pass: null,
  },
  {
    case: `GET 2 KB JSON, ${CONCURRENCY} in flight, local server`,
    unit: 'requests/s',
    ours: round(oursRps),
    baseline: 'Node fetch (undici) on the same server',
    baselineValue: round(fetchRps),
    ratio: Math.round((oursRps / fetchRps) * 100) / 100,
    goal: '>= 0.5x fetch (got buys typed errors, not speed)',
    pass: oursRps >= 0.5 * fetchRps,
  },
  {
    case: 'synthetic 1m bars (fetchLatest limit 1000)',
    unit: 'bars/s',
    ours: round(oneMinute),
    baseline: null,
    baselineValue: null,
    ratio: null,
    goal: '>= 100,000 bars/s (load tests)',
    pass: oneMinute >= 100_000,
  },
  {
    case: 'synthetic 1d bars (fetchLatest limit 30)',
    unit: 'bars/s',
    ours: round(oneDay),
    baseline: null,
    baselineValue: null,
    ratio: null,
    goal: null,
    pass: null,
  },
];
console.table(
  rows.map(({ case: c, unit, ours, baselineValue, ratio, pass }) => ({
    case: c,
    unit,
    ours,
    baseline: baselineValue,
    ratio,
    pass,
  })),
);
console.log(`wrote ${writeBenchResult('fetchers', { package: '@pipeline/fetchers', rows })}`);
