// The soak: the whole service (real loop on the wall clock, 500 synthetic symbols, the in-process
// hot cache, a real SQLite file written by its worker thread, the HTTP app polled for /health and
// /signals) run for SOAK_SECONDS, measuring memory growth after warm-up, event-loop delay and cycle
// overruns. Shared by soak.rel.test.ts (CI) and soak.ts (long runs by hand).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { cleanupTempDirs, tempSqlitePath } from '@pipeline/test-utils';
import { loadConfig } from '../src/wiring/config';
import { createService } from '../src/wiring/service';
import { type CycleReport } from '../src/sidecar';

/** Pass/fail limits of the soak, with the reasons in README.md ("Soak"). */
export const SOAK_LIMITS = Object.freeze({
  /** Event-loop delay p99 after warm-up, ms (the requirement). */
  eventLoopP99Ms: 50,
  /**
   * Heap growth (after a full GC at both ends) from the end of warm-up to the end, MB, as a fixed
   * allowance plus a per-minute one for the bars the cache legitimately keeps adding.
   */
  heapGrowthFixedMb: 8,
  heapGrowthPerMinuteMb: 1,
  /** RSS growth over the same span (median of the last fifth minus the first fifth), MB. */
  rssGrowthFixedMb: 40,
  rssGrowthPerMinuteMb: 2,
  /** Cycle overruns allowed (the issue: none). */
  overruns: 0,
});

export interface SoakOptions {
  /** Total run time, seconds (warm-up included). */
  seconds: number;
  /** Symbols collected. @default 500 */
  symbols?: number;
  /** Progress lines (the script prints them; the test stays quiet). @default none */
  onProgress?: (line: string) => void;
}

export interface SoakResult {
  seconds: number;
  warmupSeconds: number;
  symbols: number;
  cycles: number;
  overruns: number;
  failedSymbolCycles: number;
  cycleMs: { p50: number; p99: number; max: number };
  eventLoopMs: { p50: number; p99: number; max: number };
  heapMb: { afterWarmup: number; end: number; growth: number; limit: number };
  /**
   * RSS after warm-up and at the end, and its growth: the median of the last fifth of the 5 s
   * samples minus the median of the first fifth (single points jump by tens of MB when V8 keeps
   * the pages of a large young generation; a leak moves the whole tail up).
   */
  rssMb: { afterWarmup: number; end: number; growth: number; limit: number };
  /** heapUsed (no forced GC) every 5 s after warm-up, MB: the trend, for the record. */
  heapTrendMb: number[];
  /** RSS every 5 s after warm-up, MB. */
  rssTrendMb: number[];
  /** Memory outside the JS heap (Buffers, the writer thread's messages), MB, after a full GC. */
  externalMb: { afterWarmup: number; end: number };
  barsWritten: number;
  pass: { eventLoop: boolean; heap: boolean; rss: boolean; overruns: boolean };
}

/** SOAK_SECONDS, else 600 on CI (the 10 minutes) and 60 elsewhere. */
export function soakSecondsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const raw = env.SOAK_SECONDS;
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 20)
      throw new Error(`SOAK_SECONDS must be a number >= 20, got ${JSON.stringify(raw)}`);
    return n;
  }
  return env.CI === 'true' ? 600 : 60;
}

const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;

/** A full, synchronous GC (V8's `gc()`, exposed at run time so no node flag is needed). */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const seconds = options.seconds;
  const symbolCount = options.symbols ?? 500;
  const log = options.onProgress ?? (() => undefined);
  // A quarter of the run, 15 s to 60 s: enough for the JIT, the SQLite file's first pages, every
  // symbol's indicator state and the metrics' label sets to exist before the baseline is taken.
  const warmupSeconds = Math.min(60, Math.max(15, Math.round(seconds / 4)));
  const symbols = Array.from({ length: symbolCount }, (_, i) => `SOAK${String(i).padStart(4, '0')}`);
  const config = loadConfig({
    SYMBOLS: symbols.join(','),
    SOURCES: 'synthetic',
    SQLITE_PATH: tempSqlitePath('soak'),
    BOOTSTRAP_DAYS: '0',
    // Production defaults otherwise: 1m bars, a 1 s loop, flushes every 10 s, MAX_BARS_CACHE 5000.
  });
  const service = createService(config);
  const cycles: CycleReport[] = [];
  let measuring = false;
  const off = service.sidecar.onCycle((r) => {
    if (measuring) cycles.push(r);
  });
  const eld = monitorEventLoopDelay({ resolution: 10 });
  let polls = 0;
  const poller = setInterval(() => {
    // The API under the same loop, as a monitor and a bot would use it.
    void service.app
      .inject({ method: 'GET', url: '/health' })
      .then(() => service.app.inject({ method: 'GET', url: '/signals' }))
      .then(() => polls++);
  }, 1_000);
  try {
    await service.sidecar.start();
    log(`warming up for ${warmupSeconds} s with ${symbolCount} symbols`);
    await sleep(warmupSeconds * 1_000);
    const overrunsAtWarmup = service.sidecar.health().loop.overruns;
    fullGc();
    const warm = process.memoryUsage();
    measuring = true;
    eld.enable();
    const trend: number[] = [];
    const rssTrend: number[] = [];
    const measureMs = (seconds - warmupSeconds) * 1_000;
    const t0 = Date.now();
    while (Date.now() - t0 < measureMs) {
      await sleep(Math.min(5_000, measureMs - (Date.now() - t0)));
      const m = process.memoryUsage();
      trend.push(+(m.heapUsed / MB).toFixed(1));
      rssTrend.push(+(m.rss / MB).toFixed(1));
      if (trend.length % 6 === 0)
        log(
          `${Math.round((Date.now() - t0) / 1000)} s: heap ${trend.at(-1)} MB, rss ${rssTrend.at(-1)} MB, cycles ${cycles.length}, loop p99 ${(eld.percentile(99) / 1e6).toFixed(1)} ms`,
        );
    }
    eld.disable();
    measuring = false;
    const overruns = service.sidecar.health().loop.overruns - overrunsAtWarmup;
    fullGc();
    const end = process.memoryUsage();
    const minutes = measureMs / 60_000;
    const heapLimit = SOAK_LIMITS.heapGrowthFixedMb + SOAK_LIMITS.heapGrowthPerMinuteMb * minutes;
    const rssLimit = SOAK_LIMITS.rssGrowthFixedMb + SOAK_LIMITS.rssGrowthPerMinuteMb * minutes;
    const durations = cycles.map((c) => c.durationMs).sort((a, b) => a - b);
    const heapGrowth = (end.heapUsed - warm.heapUsed) / MB;
    const fifth = Math.max(1, Math.floor(rssTrend.length / 5));
    const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const rssGrowth = median(rssTrend.slice(-fifth)) - median(rssTrend.slice(0, fifth));
    const eventLoopP99 = eld.percentile(99) / 1e6;
    const r2 = (n: number) => Math.round(n * 100) / 100;
    return {
      seconds,
      warmupSeconds,
      symbols: symbolCount,
      cycles: cycles.length,
      overruns,
      failedSymbolCycles: cycles.reduce((n, c) => n + c.failed, 0),
      cycleMs: { p50: pct(durations, 50), p99: pct(durations, 99), max: durations.at(-1) ?? 0 },
      eventLoopMs: { p50: r2(eld.percentile(50) / 1e6), p99: r2(eventLoopP99), max: r2(eld.max / 1e6) },
      heapMb: {
        afterWarmup: r2(warm.heapUsed / MB),
        end: r2(end.heapUsed / MB),
        growth: r2(heapGrowth),
        limit: r2(heapLimit),
      },
      rssMb: {
        afterWarmup: r2(warm.rss / MB),
        end: r2(end.rss / MB),
        growth: r2(rssGrowth),
        limit: r2(rssLimit),
      },
      heapTrendMb: trend,
      rssTrendMb: rssTrend,
      externalMb: { afterWarmup: r2(warm.external / MB), end: r2(end.external / MB) },
      barsWritten: cycles.reduce((n, c) => n + c.barsWritten, 0),
      pass: {
        eventLoop: eventLoopP99 < SOAK_LIMITS.eventLoopP99Ms,
        heap: heapGrowth < heapLimit,
        rss: rssGrowth < rssLimit,
        overruns: overruns <= SOAK_LIMITS.overruns,
      },
    };
  } finally {
    clearInterval(poller);
    eld.disable();
    off();
    await service.close();
    cleanupTempDirs();
    log(`API polls answered: ${polls}`);
  }
}
