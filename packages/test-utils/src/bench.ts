// The bench kit: what every package's bench script shares. A script measures its own cases; this
// holds the row shape that `pnpm bench` (tooling/bench.mjs) reads, the statistics, the event-loop
// probe and the writing of bench-results/<name>.json at the workspace root.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import type { Bar } from '@pipeline/core';
import { repoRoot } from './paths';

/** One result row of bench-results/<name>.json, as tooling/bench.mjs tabulates it. */
export interface BenchRow {
  case: string;
  unit: string;
  ours: number;
  baseline: string | null;
  baselineValue: number | null;
  ratio: number | null;
  goal: string | null;
  pass: boolean | null;
}

/** A row with every comparison field it does not set left `null` (fields in the order of {@link BenchRow}). */
export function benchRow(row: Partial<BenchRow> & Pick<BenchRow, 'case' | 'unit' | 'ours'>): BenchRow {
  return {
    case: row.case,
    unit: row.unit,
    ours: row.ours,
    baseline: row.baseline ?? null,
    baselineValue: row.baselineValue ?? null,
    ratio: row.ratio ?? null,
    goal: row.goal ?? null,
    pass: row.pass ?? null,
  };
}

/** The rows as the scripts print them with console.table (`baseline` shows the baseline's value). */
export function benchTable(rows: readonly BenchRow[]): Record<string, unknown>[] {
  return rows.map((r) => ({
    case: r.case,
    unit: r.unit,
    ours: r.ours,
    baseline: r.baselineValue,
    ratio: r.ratio,
    goal: r.goal,
    pass: r.pass,
  }));
}

/** The `p`th percentile (0-100) of values already sorted ascending: the nearest rank at or above it. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** {@link percentile} of values in any order (sorts a copy). */
export function percentileOf(values: readonly number[], p: number): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    p,
  );
}

/** `n` rounded to `digits` decimals. */
export function round(n: number, digits: number): number {
  return Math.round(n * 10 ** digits) / 10 ** digits;
}

/** A numeric setting from the environment, `fallback` when unset. */
export function envNumber(name: string, fallback: number): number {
  const v = process.env[name];
  return v === undefined ? fallback : Number(v);
}

/** The first bar time of {@link benchBar}'s series. */
export const BENCH_T0 = Date.UTC(2020, 0, 1);

/**
 * A deterministic, valid 1m bar of symbol `SYM<symbolIndex, 4 digits>`; bar `i` is at
 * `BENCH_T0 + i` minutes unless `ts` is given. The stores' benches load these (pg-store's big table
 * is generated in SQL by the same formula).
 */
export function benchBar(symbolIndex: number, i: number, ts = BENCH_T0 + i * 60_000): Bar {
  const p = 100 + (i % 500) / 10 + symbolIndex / 100;
  return {
    symbol: `SYM${String(symbolIndex).padStart(4, '0')}`,
    timeframe: '1m',
    ts,
    open: p,
    high: p + 0.5,
    low: p - 0.5,
    close: p + 0.25,
    volume: i % 1000,
    source: 'synthetic',
    final: true,
    quality: 1,
  };
}

/** What {@link measureLoopBlocking} saw while its function ran. */
export interface LoopBlocking {
  /** The longest the event loop was held beyond a 1 ms ticker's period, ms. */
  maxLagMs: number;
  /** How long the function took, ms. */
  wallMs: number;
  /** Time the loop spent running JavaScript meanwhile (includes the ticker, a few us per tick), ms. */
  busyMs: number;
}

export interface LoopBlockingOptions {
  /**
   * Count the ticker's own 1 ms period in the longest gap (the statistic the sqlite-store bench has
   * always reported, kept so its numbers stay comparable run to run).
   * @default false
   */
  includeTickerPeriod?: boolean;
}

/** Max event-loop delay while `fn` runs, measured by a 1 ms ticker and monitorEventLoopDelay. */
export async function measureLoopBlocking(
  fn: () => Promise<unknown>,
  options: LoopBlockingOptions = {},
): Promise<LoopBlocking> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  let maxGap = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  await new Promise((r) => setTimeout(r, 20));
  h.enable();
  maxGap = 0;
  last = performance.now();
  const t0 = performance.now();
  const elu = performance.eventLoopUtilization();
  await fn();
  const wallMs = performance.now() - t0;
  const busyMs = performance.eventLoopUtilization(elu).active;
  await new Promise((r) => setTimeout(r, 5));
  h.disable();
  clearInterval(ticker);
  // The ticker's gap includes its own 1 ms period; the histogram reports delay beyond it.
  const gap = options.includeTickerPeriod ? maxGap : maxGap - 1;
  return { maxLagMs: Math.max(gap, h.max / 1e6), wallMs, busyMs };
}

/** A bench result file: the package, its rows, and whatever else the script records. */
export interface BenchResult {
  package: string;
  rows: readonly object[];
  /** Added to the `machine` record (which always holds `cpus` and `node`). */
  machine?: Record<string, unknown>;
  [field: string]: unknown;
}

/**
 * Writes `<workspace>/bench-results/<name>.json`: `package`, `date`, `machine` ({ cpus, node, ... }),
 * then the result's other fields in their order. Returns the file's path.
 */
export function writeBenchResult(name: string, result: BenchResult): string {
  const { package: pkg, machine, ...rest } = result;
  const dir = join(repoRoot(), 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const out = {
    package: pkg,
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version, ...machine },
    ...rest,
  };
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  return file;
}

// Per-call CPU time and allocation of a repeated cycle (the issue-16 hot-path benches, `bench:hot` in
// features, fetchers, redis-kb and validator). Run the script with
//   node --expose-gc --min-semi-space-size=256 --max-semi-space-size=256 --import tsx <script>
// so the young generation is large and fixed: no scavenge runs inside a cycle, and the bytes a cycle
// allocates are heapUsed after minus before it (after a full GC). A cycle during which a GC ran anyway
// (seen by a PerformanceObserver) is not counted for bytes. CPU is the process's user + system time,
// which a busy machine's other processes disturb less than wall time; the median and the minimum over
// cycles are reported.
export interface CycleCost {
  /** Median CPU time per call over the measured cycles, ns. */
  nsPerCall: number;
  /** Minimum CPU time per call over the measured cycles, ns. */
  nsMinPerCall: number;
  /** Median bytes allocated per call over the cycles without a GC (NaN if every cycle had one). */
  bytesPerCall: number;
  /** Cycles measured for bytes (no GC inside). */
  cleanCycles: number;
  /** 1-, 5- and 15-minute load averages at the end. */
  load: string;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Runs `prepare` then `cycle` `warmup + cycles` times (each cycle making `calls` calls); measures only
 * `cycle`. `prepare` builds the cycle's inputs outside the measured window.
 */
export async function measureCycles(
  calls: number,
  cycle: () => void | Promise<void>,
  { cycles = 20, warmup = 5, prepare }: { cycles?: number; warmup?: number; prepare?: () => void } = {},
): Promise<CycleCost> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined)
    throw new Error('run with node --expose-gc (see measureCycles in @pipeline/test-utils)');
  let gcs = 0;
  const observer = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  observer.observe({ entryTypes: ['gc'] });
  const ns: number[] = [];
  const bytes: number[] = [];
  for (let i = 0; i < warmup + cycles; i++) {
    prepare?.();
    gc();
    await nextTurn();
    const before = gcs;
    const h0 = process.memoryUsage().heapUsed;
    const c0 = process.cpuUsage();
    await cycle();
    const c = process.cpuUsage(c0);
    const h1 = process.memoryUsage().heapUsed;
    await nextTurn();
    if (i < warmup) continue;
    ns.push(((c.user + c.system) * 1e3) / calls);
    if (gcs === before) bytes.push((h1 - h0) / calls);
  }
  observer.disconnect();
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;
  return {
    nsPerCall: Math.round(median(ns)),
    nsMinPerCall: Math.round(Math.min(...ns)),
    bytesPerCall: Math.round(median(bytes)),
    cleanCycles: bytes.length,
    load: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  };
}
