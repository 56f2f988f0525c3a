// Benchmark of @pipeline/pg-store against raw node-postgres / COPY doing the same work.
//
//   pnpm --filter @pipeline/pg-store bench        (or `pnpm bench pg-store` from the root)
//
// Needs the machine's PostgreSQL (127.0.0.1:5432, trust auth, user postgres) or PG_BENCH_URL pointing
// at a server's maintenance database. Creates its own database and drops it at the end.
//
// Environment (all optional):
//   PG_BENCH_URL         admin URL                                  (default postgres://postgres@127.0.0.1:5432/postgres)
//   BENCH_BACKFILL_ROWS  rows per backfill run                      (default 200000)
//   BENCH_SYMBOLS        symbols in the big table                   (default 1000)
//   BENCH_BARS           bars per symbol in the big table           (default 10000)
//   BENCH_QUERIES        last-500 queries timed                     (default 2000)
//   BENCH_RUNS           backfill runs, best of                     (default 4)
//   BENCH_KEEP_DB        1: keep the bench database (and reuse its big table next run)
//   BENCH_CASES          comma list of backfill,latest,flush (default all three); a subset writes
//                        bench-results/pg-store-<cases>.json instead of pg-store.json. The flush
//                        case's event-loop figures do not depend on the table size, so e.g.
//                        BENCH_CASES=flush BENCH_BARS=100 measures them without the 10 M-row build.
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { alignTs, type Bar } from '@pipeline/core';
import {
  BENCH_T0 as T0,
  benchBar as bar,
  benchRow,
  benchTable,
  envNumber as env,
  measureLoopBlocking as loopBlocking,
  percentile,
  round,
  writeBenchResult,
  type BenchRow as Row,
} from '@pipeline/test-utils';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createPgStore, type PgStore } from '../src/index';
import { BAR_COLUMNS, copyChunks } from '../src/schema';

const ADMIN = process.env.PG_BENCH_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BACKFILL_ROWS = env('BENCH_BACKFILL_ROWS', 200_000);
const SYMBOLS = env('BENCH_SYMBOLS', 1_000);
const BARS = env('BENCH_BARS', 10_000);
const QUERIES = env('BENCH_QUERIES', 2_000);
const KEEP = process.env.BENCH_KEEP_DB === '1';
const RUNS = env('BENCH_RUNS', 4);
const WARMUP_FLUSHES = 3;
const ALL_CASES = ['backfill', 'latest', 'flush'] as const;
const CASES = (process.env.BENCH_CASES ?? ALL_CASES.join(','))
  .split(',')
  .map((c) => c.trim())
  .filter(Boolean);
for (const c of CASES)
  if (!(ALL_CASES as readonly string[]).includes(c))
    throw new Error(`BENCH_CASES: unknown case ${JSON.stringify(c)}; known: ${ALL_CASES.join(', ')}`);
const RESULT_NAME = CASES.length === ALL_CASES.length ? 'pg-store' : `pg-store-${CASES.join('-')}`;
const DB = `pgstore_bench_${SYMBOLS}x${BARS}`;
const MIN = 60_000;
const rows: Row[] = [];

const dbUrl = (): string => {
  const u = new URL(ADMIN);
  u.pathname = `/${DB}`;
  return u.toString();
};

async function admin<T>(fn: (c: pg.Client) => Promise<T>, url = ADMIN): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function ensureDatabase(): Promise<void> {
  await admin(async (c) => {
    const { rows: found } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB]);
    if (found.length === 0) await c.query(`CREATE DATABASE "${DB}"`);
  });
}

// ------------------------------------------------------------------------------------ backfill

/** The raw baseline: the same rows, COPY text encoding and one COPY in a transaction, nothing else. */
async function rawCopy(pool: pg.Pool, schema: string, bars: readonly Bar[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await pipeline(
      Readable.from(copyChunks(bars)),
      client.query(copyFrom(`COPY "${schema}".bars (${BAR_COLUMNS}) FROM STDIN`)),
    );
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

async function benchBackfill(): Promise<void> {
  const url = dbUrl();
  const perSymbol = Math.ceil(BACKFILL_ROWS / 100);
  const bars: Bar[] = [];
  for (let s = 0; s < 100 && bars.length < BACKFILL_ROWS; s++)
    for (let i = 0; i < perSymbol && bars.length < BACKFILL_ROWS; i++) bars.push(bar(s, i));
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const best = { raw: Infinity, copy: Infinity, staging: Infinity, live: Infinity };
  for (let run = 0; run < RUNS; run++) {
    // A fresh schema per run and path, with the month partitions already created (both sides equal).
    const stores: PgStore[] = [];
    const fresh = async (name: string): Promise<PgStore> => {
      await admin((c) => c.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`), url);
      const s = createPgStore({ url, schema: name, poolSize: 2, maxPending: 10_000_000 });
      await s.ready();
      await s.backfill([bar(999, 0)]); // creates the month partition the run uses (another symbol)
      stores.push(s);
      return s;
    };
    // Raw first in even runs, ours first in odd ones: neither side always gets the warmer server.
    await fresh('bench_raw');
    const ours = await fresh('bench_ours');
    const timeRaw = async (): Promise<void> => {
      const t0 = performance.now();
      await rawCopy(pool, 'bench_raw', bars);
      best.raw = Math.min(best.raw, performance.now() - t0);
    };
    const timeOurs = async (): Promise<void> => {
      const t0 = performance.now();
      await ours.backfill(bars);
      best.copy = Math.min(best.copy, performance.now() - t0);
    };
    if (run % 2 === 0) {
      await timeRaw();
      await timeOurs();
    } else {
      await timeOurs();
      await timeRaw();
    }
    if (ours.stats().stagedRows !== 0) throw new Error('expected the direct COPY path');

    // Re-backfill of the same range: the replace path (COPY into staging, one upsert).
    let t = performance.now();
    await ours.backfill(bars);
    best.staging = Math.min(best.staging, performance.now() - t);
    if (ours.stats().stagedRows !== bars.length) throw new Error('expected the staging path');

    const live = await fresh('bench_live');
    t = performance.now();
    live.write(bars);
    await live.flush();
    best.live = Math.min(best.live, performance.now() - t);
    for (const s of stores) await s.close();
  }
  await admin(async (c) => {
    for (const s of ['bench_raw', 'bench_ours', 'bench_live'])
      await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  }, url);
  await pool.end();
  const rate = (ms: number): number => Math.round(bars.length / (ms / 1000));
  const raw = rate(best.raw);
  rows.push({
    case: `backfill() of ${bars.length.toLocaleString('en')} bars into an empty range (direct COPY)`,
    unit: 'bars/s',
    ours: rate(best.copy),
    baseline: 'raw COPY of the same rows, same run',
    baselineValue: raw,
    ratio: round(rate(best.copy) / raw, 2),
    goal: '>= raw / 1.25',
    pass: rate(best.copy) >= raw / 1.25,
  });
  rows.push(
    benchRow({
      case: `backfill() of the same ${bars.length.toLocaleString('en')} bars again (staging + upsert, replaces)`,
      unit: 'bars/s',
      ours: rate(best.staging),
      baseline: 'raw COPY of the same rows, same run',
      baselineValue: raw,
      ratio: round(rate(best.staging) / raw, 2),
    }),
  );
  rows.push(
    benchRow({
      case: `write() + flush() of ${bars.length.toLocaleString('en')} bars (buffered live path, unnest upsert)`,
      unit: 'bars/s',
      ours: rate(best.live),
      baseline: 'raw COPY of the same rows, same run',
      baselineValue: raw,
      ratio: round(rate(best.live) / raw, 2),
    }),
  );
}

// ------------------------------------------------------------------------------ the big table

async function ensureBigTable(): Promise<void> {
  const url = dbUrl();
  const store = createPgStore({ url, schema: 'big', partitionsAhead: 1 });
  await store.ready();
  await store.backfill([bar(0, 0)]); // creates the partition of T0
  await store.close();
  const n = await admin(async (c) => {
    const { rows: r } = await c.query<{ n: string }>('SELECT count(*) AS n FROM big.bars WHERE ts < $1', [
      T0 + BARS * MIN,
    ]);
    return Number(r[0]!.n); // count(*) returns one row
  }, url);
  if (n === SYMBOLS * BARS) return;
  const t = performance.now();
  await admin(async (c) => {
    // Server-side: no rows cross the wire. The primary key is rebuilt after the load (a sorted
    // index build is much faster than 10 M index inserts).
    await c.query("SET maintenance_work_mem = '256MB'");
    await c.query('SET synchronous_commit = off');
    await c.query('TRUNCATE big.bars');
    await c.query('ALTER TABLE big.bars DROP CONSTRAINT bars_pkey');
    await c.query(
      `INSERT INTO big.bars (${BAR_COLUMNS})
       SELECT 'SYM' || lpad(s::text, 4, '0'), '1m', $1::bigint + i::bigint * 60000,
              p, p + 0.5, p - 0.5, p + 0.25, i % 1000, 'synthetic', true, 1
       FROM generate_series(0, $2::int - 1) AS s, generate_series(0, $3::int - 1) AS i,
            LATERAL (SELECT 100 + (i % 500) / 10.0 + s / 100.0 AS p) AS x`,
      [T0, SYMBOLS, BARS],
    );
    await c.query('ALTER TABLE big.bars ADD PRIMARY KEY (symbol, timeframe, ts)');
    await c.query('ANALYZE big.bars');
  }, url);
  console.log(
    `built big.bars (${(SYMBOLS * BARS).toLocaleString('en')} rows) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
}

async function benchLatest(): Promise<void> {
  const url = dbUrl();
  const store = createPgStore({ url, schema: 'big', poolSize: 1 });
  await store.ready();
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const sym = (k: number): string => `SYM${String((k * 7919) % SYMBOLS).padStart(4, '0')}`;
  // Warm both (connections, plans, cache).
  for (let k = 0; k < 200; k++) {
    await store.latest(sym(k), '1m', 500);
    await pool.query(
      'SELECT * FROM big.bars WHERE symbol = $1 AND timeframe = $2 ORDER BY ts DESC LIMIT 500',
      [sym(k), '1m'],
    );
  }
  const ours: number[] = [];
  const raw: number[] = [];
  for (let k = 0; k < QUERIES; k++) {
    let t = performance.now();
    const got = await store.latest(sym(k), '1m', 500);
    ours.push(performance.now() - t);
    if (got.length !== 500) throw new Error(`latest returned ${got.length} rows`);
    t = performance.now();
    await pool.query(
      'SELECT * FROM big.bars WHERE symbol = $1 AND timeframe = $2 ORDER BY ts DESC LIMIT 500',
      [sym(k), '1m'],
    );
    raw.push(performance.now() - t);
  }
  await store.close();
  await pool.end();
  ours.sort((a, b) => a - b);
  raw.sort((a, b) => a - b);
  for (const [name, p] of [
    ['p50', 50],
    ['p99', 99],
  ] as const) {
    const o = percentile(ours, p);
    const b = percentile(raw, p);
    rows.push({
      case: `latest 500 bars of one symbol as Bar objects, ${(SYMBOLS * BARS).toLocaleString('en')}-row table, ${name}`,
      unit: 'ms',
      ours: round(o, 2),
      baseline: 'raw pool.query, row objects',
      baselineValue: round(b, 2),
      ratio: round(o / b, 2),
      goal: name === 'p50' ? '< 2 ms' : null,
      pass: name === 'p50' ? o < 2 : null,
    });
  }
}

// --------------------------------------------------------------------------- event-loop blocking

async function benchLiveFlush(): Promise<void> {
  const store = createPgStore({ url: dbUrl(), schema: 'big', poolSize: 2, maxPending: 1_000_000 });
  await store.ready();
  // Same statistic as the flush rows below: the median of 5 probes while the loop only sleeps.
  const probes: number[] = [];
  for (let run = 0; run < 5; run++) {
    probes.push((await loopBlocking(() => new Promise((r) => setTimeout(r, 100)))).maxLagMs);
  }
  const idle = probes.sort((a, b) => a - b)[2]!; // 5 probes
  rows.push(
    benchRow({
      case: 'event-loop max delay with no flush running, 100 ms, median of 5 (noise floor for the rows below)',
      unit: 'ms max loop delay',
      ours: round(idle, 1),
    }),
  );
  let base = alignTs(Date.now(), '1m');
  for (const size of [1_000, 10_000]) {
    const samples: { maxLagMs: number; wallMs: number; busyMs: number }[] = [];
    // Three warm-up flushes of this size first, not measured: a running sidecar flushes every
    // BATCH_WRITE_INTERVAL, so its flush code is compiled (the first flushes of a process run the
    // encoder and node-postgres' serializer unoptimised, 10-25 ms of loop delay).
    for (let run = -WARMUP_FLUSHES; run < 5; run++) {
      const perSymbol = Math.max(1, Math.round(size / SYMBOLS));
      const batch: Bar[] = [];
      for (let s = 0; s < SYMBOLS && batch.length < size; s++)
        for (let k = 0; k < perSymbol && batch.length < size; k++) batch.push(bar(s, k, base + k * MIN));
      base += (perSymbol + 1) * MIN;
      store.write(batch);
      const measured = await loopBlocking(() => store.flush());
      if (run >= 0) samples.push(measured);
    }
    samples.sort((a, b) => a.maxLagMs - b.maxLagMs);
    const median = samples[Math.floor(samples.length / 2)]!; // 5 samples
    rows.push(
      benchRow({
        case: `event-loop max delay during a live flush of ${size.toLocaleString('en')} rows into the big table (median of 5 after ${WARMUP_FLUSHES} warm-up flushes; flush took ${median.wallMs.toFixed(0)} ms)`,
        unit: 'ms max loop delay',
        ours: round(median.maxLagMs, 1),
        goal: '< 5 ms',
        pass: median.maxLagMs < 5,
      }),
    );
    rows.push(
      benchRow({
        case: `event-loop busy time (JavaScript running) during that flush of ${size.toLocaleString('en')} rows, median of 5`,
        unit: 'ms',
        ours: round([...samples].sort((a, b) => a.busyMs - b.busyMs)[2]!.busyMs, 1),
      }),
    );
  }
  await store.close();
}

const LOAD_START = loadavg()[0] ?? 0;

async function main(): Promise<void> {
  const started = performance.now();
  await ensureDatabase();
  try {
    if (CASES.includes('backfill')) await benchBackfill();
    if (CASES.includes('latest') || CASES.includes('flush')) await ensureBigTable();
    if (CASES.includes('latest')) await benchLatest();
    if (CASES.includes('flush')) await benchLiveFlush();
  } finally {
    if (!KEEP) await admin((c) => c.query(`DROP DATABASE IF EXISTS "${DB}" WITH (FORCE)`));
  }
  console.table(benchTable(rows));
  writeBenchResult(RESULT_NAME, {
    package: '@pipeline/pg-store',
    machine: { loadStart: LOAD_START, loadEnd: loadavg()[0] ?? 0 },
    rows,
  });
  console.log(
    `wrote bench-results/${RESULT_NAME}.json in ${((performance.now() - started) / 1000).toFixed(1)} s ` +
      `(load average ${LOAD_START.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end)`,
  );
}

void main();
