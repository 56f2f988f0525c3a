// Benchmark of @pipeline/redis-kb against raw ioredis + msgpackr doing the same work, the in-process
// cache, and a poolSize sweep (1, 2, 4, 8 connections).
// Run: pnpm --filter @pipeline/redis-kb bench  (REDIS_URL, BENCH_SCALE=4 for longer, BENCH_ONLY=pool).
// Writes bench-results/redis-kb.json at the repo root.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type Bar, TIMEFRAME_MS } from '@pipeline/core';
import {
  benchRow,
  benchTable,
  percentileOf as pct,
  round as roundTo,
  writeBenchResult,
  type BenchRow as Row,
} from '@pipeline/test-utils';
import { Redis } from 'ioredis';
import { Packr } from 'msgpackr';
import { createMemoryHotCache, createRedisHotCache, type HotCache, WRITE_BARS_LUA } from '../src/index';
import { decodeBar, encodeFanoutBars } from '../src/codec';
import { WRITE_BARS_SCRIPT } from '../src/lua';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SCALE = Number(process.env.BENCH_SCALE ?? '1');
const ONLY = process.env.BENCH_ONLY ?? '';
const SYMBOLS = 100;
const T0 = Date.UTC(2024, 0, 2);
const M = TIMEFRAME_MS['1m'];
const RUN = `bench:rediskb:${process.pid}:`;

const rows: Row[] = [];

function mkBar(symbol: string, i: number): Bar {
  const c = 1.1 + (i % 100) / 1000;
  return {
    symbol,
    timeframe: '1m',
    ts: T0 + i * M,
    open: c,
    high: c + 0.001,
    low: c - 0.001,
    close: c,
    volume: i,
    source: 'yahoo',
    final: true,
    quality: 1,
  };
}
const symbols = Array.from({ length: SYMBOLS }, (_, i) => `S${i}`);
const median = (xs: number[]) => pct(xs, 50);
const round = (x: number, d = 3) => roundTo(x, d);

/** Raw ioredis + msgpackr doing what writeBars does: one EVALSHA per series in one pipeline, then one XADD of the accepted bars. */
function rawWriter(redis: Redis, prefix: string, fanout: boolean) {
  const packr = new Packr({ useRecords: false });
  return async (bars: Bar[]) => {
    const bySeries = new Map<string, Bar[]>();
    for (const b of bars) {
      const k = `${prefix}bars:{${b.symbol}}:${b.timeframe}`;
      const list = bySeries.get(k);
      if (list) list.push(b);
      else bySeries.set(k, [b]);
    }
    const p = redis.pipeline();
    const groups = [...bySeries.entries()];
    for (const [key, list] of groups) {
      p.evalsha(
        WRITE_BARS_SCRIPT.sha,
        1,
        key,
        5000,
        64,
        ...list.map((b) =>
          packr.pack([b.ts, b.open, b.high, b.low, b.close, b.volume, b.source, b.final, b.quality]),
        ),
      );
    }
    const res = (await p.exec())!;
    if (!fanout) return;
    const accepted: Bar[] = [];
    res.forEach(([err, reply], i) => {
      if (err) throw err;
      const status = (reply as unknown[])[4] as string;
      groups[i]![1].forEach((b, j) => status[j] !== 'x' && accepted.push(b));
    });
    await redis.xadd(`${prefix}stream:bars`, 'MAXLEN', '~', 10000, '*', 'bars', encodeFanoutBars(accepted));
  };
}

async function timeCycles(
  cycles: number,
  run: (cycle: number) => Promise<void>,
): Promise<{ wallMs: number[]; cpuUs: number[] }> {
  const wallMs: number[] = [];
  const cpuUs: number[] = [];
  for (let c = 0; c < cycles; c++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await run(c);
    wallMs.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    cpuUs.push(cpu.user + cpu.system);
  }
  return { wallMs, cpuUs };
}

async function benchWrites(_admin: Redis, barsPerSeries: number, fanout: boolean): Promise<void> {
  const prefixOurs = `${RUN}w${barsPerSeries}${fanout ? 'f' : ''}:ours:`;
  const prefixRaw = `${RUN}w${barsPerSeries}${fanout ? 'f' : ''}:raw:`;
  const cache = createRedisHotCache({ redis: REDIS_URL, keyPrefix: prefixOurs, fanout });
  const raw = new Redis(REDIS_URL);
  await cache.ready();
  await raw.script('LOAD', WRITE_BARS_LUA);
  const writeRaw = rawWriter(raw, prefixRaw, fanout);
  const cycles = Math.round((barsPerSeries === 1 ? 150 : 25) * SCALE);
  const batch = (c: number) =>
    symbols.flatMap((s) => Array.from({ length: barsPerSeries }, (_, j) => mkBar(s, c * barsPerSeries + j)));
  // Alternate call by call so both see the same machine state (the machine may be shared); the
  // first tenth of the calls is warm-up.
  const ours = { wallMs: [] as number[], cpuUs: [] as number[] };
  const base = { wallMs: [] as number[], cpuUs: [] as number[] };
  const total = cycles * 5;
  for (let c = 0; c < total; c++) {
    const o = await timeCycles(1, () => cache.writeBars(batch(c)).then(() => undefined));
    const b = await timeCycles(1, () => writeRaw(batch(c)));
    if (c < total / 10) continue;
    ours.wallMs.push(...o.wallMs);
    ours.cpuUs.push(...o.cpuUs);
    base.wallMs.push(...b.wallMs);
    base.cpuUs.push(...b.cpuUs);
  }
  const barsPerCall = SYMBOLS * barsPerSeries;
  const name = `writeBars ${SYMBOLS} symbols x ${barsPerSeries} bar${barsPerSeries > 1 ? 's' : ''}/call${fanout ? ', fan-out on' : ', fan-out off'}`;
  const oursRate = barsPerCall / (median(ours.wallMs) / 1000);
  const rawRate = barsPerCall / (median(base.wallMs) / 1000);
  const ratio = median(ours.wallMs) / median(base.wallMs);
  rows.push({
    case: `${name}: throughput (median call)`,
    unit: 'bars/s',
    ours: Math.round(oursRate),
    baseline: 'raw ioredis pipeline (EVALSHA per series' + (fanout ? ' + XADD' : '') + ') + msgpackr',
    baselineValue: Math.round(rawRate),
    ratio: round(ratio, 2),
    goal: 'time per call <= 1.5x raw',
    pass: ratio <= 1.5,
  });
  const cpuRatio = median(ours.cpuUs) / median(base.cpuUs);
  rows.push(
    benchRow({
      case: `${name}: Node CPU per bar`,
      unit: 'us',
      ours: round(median(ours.cpuUs) / barsPerCall, 2),
      baseline: 'raw ioredis pipeline + msgpackr',
      baselineValue: round(median(base.cpuUs) / barsPerCall, 2),
      ratio: round(cpuRatio, 2),
    }),
  );
  await cache.close();
  await raw.quit();
}

async function benchReads(admin: Redis): Promise<void> {
  const prefix = `${RUN}r:`;
  const cache = createRedisHotCache({ redis: REDIS_URL, keyPrefix: prefix, fanout: false });
  const raw = new Redis(REDIS_URL);
  const packr = new Packr({ useRecords: false });
  await cache.ready();
  await cache.writeBars(Array.from({ length: 5000 }, (_, i) => mkBar('EURUSD', i)));
  const key = cache.keys.bars('EURUSD', '1m');
  const n = Math.round(2000 * SCALE);
  const ours: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < n + 300; i++) {
    let t0 = performance.now();
    const a = await cache.latestBars('EURUSD', '1m', 500);
    const t1 = performance.now();
    const bufs = await raw.lrangeBuffer(key, -500, -1);
    const b = bufs.map((buf) => {
      const x = packr.unpack(buf) as unknown[];
      return {
        symbol: 'EURUSD',
        timeframe: '1m',
        ts: x[0],
        open: x[1],
        high: x[2],
        low: x[3],
        close: x[4],
        volume: x[5],
        source: x[6],
        final: x[7],
        quality: x[8],
      };
    });
    const t2 = performance.now();
    if (a.length !== 500 || b.length !== 500) throw new Error('short read');
    if (i >= 300) {
      ours.push(t1 - t0);
      base.push(t2 - t1);
    }
    t0 = 0;
  }
  for (const p of [50, 99] as const) {
    const goal = p === 50 ? 1 : 3;
    rows.push({
      case: `latestBars(500) from Redis + decode: p${p}`,
      unit: 'ms',
      ours: round(pct(ours, p)),
      baseline: 'raw LRANGE + msgpackr unpack',
      baselineValue: round(pct(base, p)),
      ratio: round(pct(ours, p) / pct(base, p), 2),
      goal: `< ${goal} ms (the replaced Python service: 1-3 ms)`,
      pass: pct(ours, p) < goal,
    });
  }
  // Range read of 500 bars out of 5000 via the binary-search script.
  const range: number[] = [];
  for (let i = 0; i < Math.round(1000 * SCALE) + 100; i++) {
    const t0 = performance.now();
    const got = await cache.barsInRange('EURUSD', '1m', T0 + 2000 * M, T0 + 2500 * M);
    if (got.length !== 500) throw new Error('bad range');
    if (i >= 100) range.push(performance.now() - t0);
  }
  rows.push(
    benchRow({
      case: 'barsInRange(500 of 5000) from Redis + decode: p50',
      unit: 'ms',
      ours: round(median(range)),
    }),
  );
  // Memory per bar: a full 5000-bar list.
  const bytes = Number(await admin.memory('USAGE', key, 'SAMPLES', 0));
  rows.push(
    benchRow({
      case: 'Redis memory per cached bar (5000-bar list, MEMORY USAGE)',
      unit: 'bytes',
      ours: round(bytes / 5000, 1),
    }),
  );
  // Decode cost alone.
  const bufs = await raw.lrangeBuffer(key, -500, -1);
  const t0 = performance.now();
  const reps = Math.round(200 * SCALE);
  for (let r = 0; r < reps; r++) for (const b of bufs) decodeBar(b, 'EURUSD', '1m');
  rows.push(
    benchRow({
      case: 'decodeBar (msgpack array -> Bar)',
      unit: 'us',
      ours: round(((performance.now() - t0) * 1000) / (reps * 500), 3),
    }),
  );
  rows.push(
    benchRow({
      case: 'packed bar size',
      unit: 'bytes',
      ours: bufs[0]!.length,
    }),
  );
  await cache.close();
  await raw.quit();
}

async function benchMemory(): Promise<void> {
  const cache: HotCache = createMemoryHotCache();
  const cycles = Math.round(2000 * SCALE);
  const t0 = performance.now();
  for (let c = 0; c < cycles; c++) await cache.writeBars(symbols.map((s) => mkBar(s, c)));
  const perCall = (performance.now() - t0) / cycles;
  rows.push(
    benchRow({
      case: `in-process writeBars ${SYMBOLS} symbols x 1 bar/call: throughput`,
      unit: 'bars/s',
      ours: Math.round(SYMBOLS / (perCall / 1000)),
    }),
  );
  await cache.writeBars(Array.from({ length: 5000 }, (_, i) => mkBar('EURUSD', i)));
  const lat: number[] = [];
  for (let i = 0; i < Math.round(3000 * SCALE) + 300; i++) {
    const t = performance.now();
    await cache.latestBars('EURUSD', '1m', 500);
    if (i >= 300) lat.push(performance.now() - t);
  }
  for (const p of [50, 99] as const) {
    rows.push(
      benchRow({
        case: `in-process latestBars(500): p${p}`,
        unit: 'ms',
        ours: round(pct(lat, p), 4),
        goal: '< 1 ms',
        pass: pct(lat, p) < 1,
      }),
    );
  }
  await cache.close();
}

/**
 * Heap per cached bar at 2,000 symbols x 5,000 bars, in a child process with --expose-gc (its own
 * heap, nothing else in it): (heapUsed + arrayBuffers) delta / bars, and the child's resident memory.
 */
function benchHeapPerBar(): void {
  const here = dirname(fileURLToPath(import.meta.url));
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', join(here, 'memory-heap.ts')],
    {
      cwd: resolve(here, '..'),
      encoding: 'utf8',
    },
  );
  const m = JSON.parse(out.trim().split('\n').pop()!) as {
    bytesPerBar: number;
    heapUsedPerBar: number;
    rssMB: number;
    fillBarsPerSec: number;
  };
  console.log(`in-process cache 2,000 x 5,000: ${JSON.stringify(m)}`);
  const row = (
    c: string,
    unit: string,
    ours: number,
    goal: string | null = null,
    pass: boolean | null = null,
  ) => rows.push(benchRow({ case: c, unit, ours, goal, pass }));
  row(
    'in-process cache: heap per cached bar, 2,000 x 5,000',
    'bytes',
    round(m.bytesPerBar, 1),
    '<= 64 B',
    m.bytesPerBar <= 64,
  );
  row(
    'in-process cache: of which in the V8 heap (rest: typed-array stores)',
    'bytes',
    round(m.heapUsedPerBar, 2),
  );
  row('in-process cache: resident memory, 2,000 x 5,000', 'MB', Math.round(m.rssMB));
  row('in-process cache: fill 2,000 x 5,000 (500 bars/call)', 'bars/s', Math.round(m.fillBarsPerSec));
}

const POOL_SIZES = [1, 2, 4, 8] as const;

/**
 * Pool-size sweep: the same work on caches with 1, 2, 4 and 8 connections, alternated call by call
 * (or round by round) so every size sees the same machine state. Rows compare each size with
 * poolSize 1 measured in the same loop.
 */
async function benchPoolWrites(symbolCount: number, fanout: boolean): Promise<void> {
  const names = Array.from({ length: symbolCount }, (_, i) => `P${i}`);
  const caches = POOL_SIZES.map((poolSize) =>
    createRedisHotCache({
      redis: REDIS_URL,
      keyPrefix: `${RUN}pw${symbolCount}${fanout ? 'f' : ''}:${poolSize}:`,
      poolSize,
      fanout,
    }),
  );
  const name = `writeBars ${symbolCount} symbols x 1 bar/call, fan-out ${fanout ? 'on' : 'off'}`;
  await Promise.all(caches.map((c) => c.ready()));
  const calls = Math.round((symbolCount >= 1000 ? 40 : 200) * SCALE);
  const warm = Math.ceil(calls / 10);
  const wall = POOL_SIZES.map(() => [] as number[]);
  const cpu = POOL_SIZES.map(() => [] as number[]);
  for (let c = 0; c < calls + warm; c++) {
    const batch = names.map((s) => mkBar(s, c));
    for (let k = 0; k < caches.length; k++) {
      // Rotate which size goes first so none always follows the same neighbour.
      const i = (k + c) % caches.length;
      const t = await timeCycles(1, () => caches[i]!.writeBars(batch).then(() => undefined));
      if (c < warm) continue;
      wall[i]!.push(...t.wallMs);
      cpu[i]!.push(...t.cpuUs);
    }
  }
  POOL_SIZES.forEach((poolSize, i) => {
    const ratio = median(wall[i]!) / median(wall[0]!);
    rows.push(
      benchRow({
        case: `pool sweep: ${name}, poolSize ${poolSize}: throughput (median call)`,
        unit: 'bars/s',
        ours: Math.round(symbolCount / (median(wall[i]!) / 1000)),
        baseline: i === 0 ? null : 'poolSize 1, same run (ratio = time per call vs poolSize 1)',
        baselineValue: i === 0 ? null : Math.round(symbolCount / (median(wall[0]!) / 1000)),
        ratio: i === 0 ? null : round(ratio, 2),
      }),
    );
    rows.push(
      benchRow({
        case: `pool sweep: ${name}, poolSize ${poolSize}: Node CPU per bar`,
        unit: 'us',
        ours: round(median(cpu[i]!) / symbolCount, 2),
        baseline: i === 0 ? null : 'poolSize 1, same run',
        baselineValue: i === 0 ? null : round(median(cpu[0]!) / symbolCount, 2),
        ratio: i === 0 ? null : round(median(cpu[i]!) / median(cpu[0]!), 2),
      }),
    );
  });
  await Promise.all(caches.map((c) => c.close()));
}

/** Many concurrent callers each reading the latest 500 bars of their own symbol (1000 cached). */
async function benchPoolReads(callers: number): Promise<void> {
  const names = Array.from({ length: callers }, (_, i) => `R${i}`);
  const caches = POOL_SIZES.map((poolSize) =>
    createRedisHotCache({ redis: REDIS_URL, keyPrefix: `${RUN}pr:${poolSize}:`, poolSize, fanout: false }),
  );
  await Promise.all(caches.map((c) => c.ready()));
  // 1000 bars per symbol: LRANGE -500 -1 walks from the tail, so a longer list reads the same, and
  // the shared Redis holds 4 x 64 series only briefly.
  for (const cache of caches)
    await cache.writeBars(names.flatMap((s) => Array.from({ length: 1000 }, (_, i) => mkBar(s, i))));
  const rounds = Math.round(60 * SCALE);
  const warm = Math.ceil(rounds / 10);
  const roundMs = POOL_SIZES.map(() => [] as number[]);
  const callMs = POOL_SIZES.map(() => [] as number[]);
  for (let r = 0; r < rounds + warm; r++) {
    for (let k = 0; k < caches.length; k++) {
      const i = (k + r) % caches.length;
      const t0 = performance.now();
      const lat = await Promise.all(
        names.map(async (s) => {
          const t = performance.now();
          const got = await caches[i]!.latestBars(s, '1m', 500);
          if (got.length !== 500) throw new Error('short read');
          return performance.now() - t;
        }),
      );
      if (r < warm) continue;
      roundMs[i]!.push(performance.now() - t0);
      callMs[i]!.push(...lat);
    }
  }
  POOL_SIZES.forEach((poolSize, i) => {
    const base = (xs: number[][], f: (x: number[]) => number) => (i === 0 ? null : round(f(xs[0]!)));
    rows.push(
      benchRow({
        case: `pool sweep: ${callers} concurrent callers x latestBars(500) + decode, poolSize ${poolSize}: throughput (median round)`,
        unit: 'reads/s',
        ours: Math.round(callers / (median(roundMs[i]!) / 1000)),
        baseline: i === 0 ? null : 'poolSize 1, same run (ratio = time per round vs poolSize 1)',
        baselineValue: i === 0 ? null : Math.round(callers / (median(roundMs[0]!) / 1000)),
        ratio: i === 0 ? null : round(median(roundMs[i]!) / median(roundMs[0]!), 2),
      }),
    );
    for (const p of [50, 99] as const) {
      rows.push(
        benchRow({
          case: `pool sweep: ${callers} concurrent callers x latestBars(500), poolSize ${poolSize}: per-call latency p${p}`,
          unit: 'ms',
          ours: round(pct(callMs[i]!, p)),
          baseline: i === 0 ? null : 'poolSize 1, same run',
          baselineValue: base(callMs, (x) => pct(x, p)),
          ratio: i === 0 ? null : round(pct(callMs[i]!, p) / pct(callMs[0]!, p), 2),
        }),
      );
    }
  });
  await Promise.all(caches.map((c) => c.close()));
}

async function main(): Promise<void> {
  const admin = new Redis(REDIS_URL);
  const loadAtStart = loadavg()[0];
  try {
    // BENCH_ONLY=pool runs the pool-size sweep alone (it still writes the JSON, with those rows only).
    if (ONLY !== 'pool') {
      await benchWrites(admin, 1, true);
      await benchWrites(admin, 1, false);
      await benchWrites(admin, 50, true);
      await benchReads(admin);
      await benchMemory();
      benchHeapPerBar();
    }
    await benchPoolWrites(100, true);
    await benchPoolWrites(100, false);
    await benchPoolWrites(1000, true);
    await benchPoolReads(64);
  } finally {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${RUN}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.unlink(...keys);
    } while (cursor !== '0');
    await admin.quit();
  }
  console.log(`1-min load average at start: ${loadAtStart!.toFixed(2)} on ${cpus().length} CPUs`);
  console.table(benchTable(rows));
  const out = writeBenchResult('redis-kb', {
    package: '@pipeline/redis-kb',
    machine: { loadavg1mAtStart: round(loadAtStart!, 2) },
    rows,
  });
  console.log(`wrote ${out}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
