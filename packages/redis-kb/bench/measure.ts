// Per-call CPU time and allocation of a repeated cycle (issue 16 hot-path benches; the same file in
// each package's bench/). Run the script with
//   node --expose-gc --min-semi-space-size=256 --max-semi-space-size=256 --import tsx <script>
// so the young generation is large and fixed: no scavenge runs inside a cycle, and the bytes a cycle
// allocates are heapUsed after minus before it (after a full GC). A cycle during which a GC ran anyway
// (seen by a PerformanceObserver) is not counted for bytes. CPU is the process's user + system time,
// which a busy machine's other processes disturb less than wall time; the median and the minimum over
// cycles are reported.
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';

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

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Runs `prepare` then `cycle` `warmup + cycles` times (each cycle making `calls` calls); measures only
 * `cycle`. `prepare` builds the cycle's inputs outside the measured window.
 */
export async function measure(
  calls: number,
  cycle: () => void | Promise<void>,
  { cycles = 20, warmup = 5, prepare }: { cycles?: number; warmup?: number; prepare?: () => void } = {},
): Promise<CycleCost> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc (see bench/measure.ts)');
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
    await tick();
    const before = gcs;
    const h0 = process.memoryUsage().heapUsed;
    const c0 = process.cpuUsage();
    await cycle();
    const c = process.cpuUsage(c0);
    const h1 = process.memoryUsage().heapUsed;
    await tick();
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
