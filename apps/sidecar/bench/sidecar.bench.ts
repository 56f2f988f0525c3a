// Sidecar benchmarks (BENCHMARK CONVENTION): end-to-end signal latency, 1 Hz scale, and the signal
// endpoint under autocannon load. Prints a table and writes <repo>/bench-results/sidecar.json.
// BENCH_LONG=1 runs longer (more cycles, longer load phases).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, performance, type PerformanceEntry } from 'node:perf_hooks';
import { type Fetcher, systemClock } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import {
  benchRow,
  cleanupTempDirs,
  getFreePort,
  percentile as pct,
  repoRoot,
  round,
  tempSqlitePath,
  writeBenchResult,
  type BenchRow as Row,
} from '@pipeline/test-utils';
import { createIdleGc, heapFill } from '../src/pipeline/loop';
import { loadConfig } from '../src/wiring/config';
import { createService, type Service } from '../src/wiring/service';

const LONG = process.env.BENCH_LONG === '1';
/**
 * BENCH_ONLY=latency,scale,load runs a subset (the JSON then holds only those rows). BENCH_ONLY=live (not
 * in the default set): the latency probe in the real 1 Hz loop (see liveLatency).
 */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'latency,scale,load').split(','));

const rows: Row[] = [];
const row = (r: Partial<Row> & Pick<Row, 'case' | 'unit' | 'ours'>) =>
  rows.push(benchRow({ ...r, ours: round(r.ours, 3) }));

const symbolsOf = (n: number) => Array.from({ length: n }, (_, i) => `SYM${String(i).padStart(5, '0')}`);

function makeService(n: number, extra: Record<string, string> = {}, fetcher?: Fetcher): Service {
  const config = loadConfig({
    SYMBOLS: symbolsOf(n).join(','),
    SOURCES: 'synthetic',
    BOOTSTRAP_DAYS: '0',
    SQLITE_PATH: tempSqlitePath('bench'),
    LOG_LEVEL: 'error',
    ...extra,
  });
  const f = fetcher ?? createSyntheticFetcher({ clock: systemClock });
  return createService(config, { overrides: { sources: [{ name: 'synthetic', fetcher: f }] } });
}

/**
 * Warms each symbol's indicators with history so every cycle yields a real signal, through the
 * service's own source so its per-symbol price paths are built before anything is timed.
 */
async function warm(service: Service, n: number, bars = 60): Promise<void> {
  const f = service.deps.sources[0]?.fetcher;
  if (!f) throw new Error('the service has no source');
  const now = Date.now();
  const syms = symbolsOf(n);
  for (const symbol of syms) {
    const history = await f.fetchHistory({
      symbol,
      timeframe: '1m',
      from: now - bars * 60_000,
      to: now - 60_000,
    });
    for (const b of history) service.deps.features.update(b);
  }
}

/** Idle time after each cycle of the latency runs, ms (the 1 Hz loop has the rest of its second). */
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 10);
/** BENCH_LATENCY_SIZES=100,1000: the symbol counts of the latency runs. */
const LATENCY_SIZES = (process.env.BENCH_LATENCY_SIZES ?? '10,100,1000').split(',').map(Number);
/** BENCH_LATENCY_VIA=inject: without the client-process runs (inject,socket by default). */
const LATENCY_VIA = new Set((process.env.BENCH_LATENCY_VIA ?? 'inject,socket').split(','));
/** BENCH_LATENCY_CYCLES=300: cycles per latency run (default 1,000, 300 at 1,000 symbols and more, 3,000 with BENCH_LONG). */
const LATENCY_CYCLES = process.env.BENCH_LATENCY_CYCLES
  ? Number(process.env.BENCH_LATENCY_CYCLES)
  : undefined;
/** BENCH_LATENCY_DETAIL=1: print the slowest samples of each latency run, with what their cycle did. */
const DETAIL = process.env.BENCH_LATENCY_DETAIL === '1';
/** BENCH_GC_DETAIL=1: print each GC pause that began inside a cycle, with the young generation's fill at the cycle's start. */
const GC_DETAIL = process.env.BENCH_GC_DETAIL === '1';

/** How the probe's signal is read: fastify `inject()` in this process, or a client process over TCP. */
type ReadVia = 'inject' | 'socket';

/** What one latency run measured. */
interface LatencyRun {
  p50: number;
  p99: number;
  samples: number;
  memP50: number;
  memP99: number;
  /** GC pauses (perf_hooks 'gc' entries) that began inside a cycle, ms. */
  gcInCycle: { count: number; p99: number; max: number };
  /** Process CPU (user + system) per symbol per cycle, us. */
  cpuPerSymbolUs: number;
  rssMb: number;
  /** Samples during which (answer to read) the main thread waited 0.5 ms or more for a CPU (run queue, /proc schedstat); null off Linux. */
  descheduled: number | null;
  /** p99 of the other samples (the code, less the machine's other processes). */
  p99Scheduled: number;
}

/**
 * The main thread's time on a CPU and waiting in the run queue, ns (Linux `/proc/<pid>/task/<pid>/schedstat`),
 * or null where there is no such file. A cycle slowed by other processes shows as run-queue wait.
 */
function schedstat(pid = process.pid): [number, number] | null {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return run === undefined || wait === undefined ? null : [run, wait];
  } catch {
    return null;
  }
}

/** This process's threads (Linux tids), or [] where /proc is missing. */
function threadIds(): number[] {
  try {
    return readdirSync(`/proc/${process.pid}/task`).map(Number);
  } catch {
    return [];
  }
}

/** Each thread's time on a CPU so far, ns (its schedstat), for BENCH_LATENCY_DETAIL's per-thread split. */
function threadRun(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of threadIds()) {
    try {
      out.set(tid, Number(readFileSync(`/proc/${process.pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/**
 * Watches GC pauses (perf_hooks 'gc' entries) while `measure` runs and keeps those that began inside
 * one of the windows it marks with `inside` (a collection cycle).
 */
function gcWatch(): {
  inside<T>(fn: () => Promise<T>): Promise<T>;
  between(a: number, b: number): PerformanceEntry[];
  stop(): number[];
} {
  const windows: [number, number][] = [];
  const entries: PerformanceEntry[] = [];
  const obs = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  obs.observe({ entryTypes: ['gc'] });
  return {
    async inside(fn) {
      const a = performance.now();
      try {
        return await fn();
      } finally {
        windows.push([a, performance.now()]);
      }
    },
    between: (a, b) => entries.filter((e) => e.startTime >= a && e.startTime <= b),
    stop() {
      obs.disconnect();
      const inside = entries.filter((e) => windows.some(([a, b]) => e.startTime >= a && e.startTime <= b));
      return inside.map((e) => e.duration);
    },
  };
}

/**
 * A keep-alive HTTP client in its own process (one socket): told over IPC to read a path, it answers
 * with the monotonic clock (process.hrtime, the same clock in every process) at which the whole
 * response was in. The client's own work then runs on the other core, not on the sidecar's loop.
 */
const SOCKET_CLIENT = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
process.on('message', (m) => {
  if (m.stop) { agent.destroy(); process.disconnect(); return; }
  http.get(process.env.BENCH_BASE_URL + m.path, { agent }, (res) => {
    res.resume();
    res.on('end', () => process.send({ id: m.id, status: res.statusCode, doneNs: String(process.hrtime.bigint()) }));
  });
});
process.send({ ready: true });
`;

interface Reader {
  /** Reads `/signals/<symbol>` now; resolves with the time the answer was in (performance.now() ms) and its status. */
  read(symbol: string): Promise<{ at: number; status: number }>;
  /** The client process (its run-queue wait counts too), if any. */
  pid?: number;
  close(): Promise<void>;
}

function injectReader(service: Service): Reader {
  return {
    read: (symbol) =>
      service.app
        .inject({ method: 'GET', url: `/signals/${symbol}` })
        .then((r) => ({ at: performance.now(), status: r.statusCode })),
    close: async () => undefined,
  };
}

async function socketReader(service: Service, port: number): Promise<Reader> {
  await service.listen();
  const child = spawn(process.execPath, ['-e', SOCKET_CLIENT], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, BENCH_BASE_URL: `http://127.0.0.1:${port}` },
  });
  // performance.now() in this process's hrtime (ns): the child's answers are in hrtime.
  const hr0 = process.hrtime.bigint();
  const pn0 = performance.now();
  const waiting = new Map<number, (v: { at: number; status: number }) => void>();
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((r) => (ready = r));
  child.on('message', (m: { ready?: boolean; id?: number; status?: number; doneNs?: string }) => {
    if (m.ready) return ready();
    const done = m.id === undefined ? undefined : waiting.get(m.id);
    if (!done || m.id === undefined || m.doneNs === undefined) return;
    waiting.delete(m.id);
    done({ at: pn0 + Number(BigInt(m.doneNs) - hr0) / 1e6, status: m.status ?? 0 });
  });
  await isReady;
  let id = 0;
  return {
    ...(child.pid === undefined ? {} : { pid: child.pid }),
    read(symbol) {
      const my = ++id;
      return new Promise((resolve) => {
        waiting.set(my, resolve);
        child.send({ id: my, path: `/signals/${symbol}` });
      });
    },
    async close() {
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ stop: true });
      await exited;
    },
  };
}

/** One probe read: where its symbol was in its batch and what its cycle did, for the detail print. */
interface ProbeSample {
  ms: number;
  position: number;
  signalMs: number;
  cycleMs: number;
  cpuMs: number;
  waitMs: number;
  gc: string;
  /** BENCH_LATENCY_DETAIL: CPU of this process's other threads in the same window, ms: the SQLite writer thread, the rest. */
  writerMs: number;
  othersMs: number;
  /** The busiest other thread in the window, "tid:ms". */
  top: string;
}

/**
 * The synthetic source, calling `arrived` the moment each answer is in hand: when the fetcher's
 * promise resolves, for a batch answer once for all of its symbols.
 */
function timedSynthetic(arrived: (answers: ReadonlyMap<string, unknown>) => void): Fetcher {
  const inner = createSyntheticFetcher({ clock: systemClock });
  return Object.assign(Object.create(inner) as Fetcher, {
    source: inner.source,
    capabilities: inner.capabilities,
    fetchLatest: async (req: Parameters<Fetcher['fetchLatest']>[0]) => {
      const bars = await inner.fetchLatest(req);
      arrived(new Map([[req.symbol, bars]]));
      return bars;
    },
    fetchLatestMany: async (req: Parameters<typeof inner.fetchLatestMany>[0]) => {
      const answers = await inner.fetchLatestMany(req);
      arrived(answers);
      return answers;
    },
    budget: () => inner.budget(),
    close: () => inner.close(),
    fetchHistory: (req: Parameters<Fetcher['fetchHistory']>[0]) => inner.fetchHistory(req),
  });
}

/** Provider answer -> signal readable via HTTP, per symbol, over several cycles. */
async function latency(n: number, cycles: number, via: ReadVia = 'inject'): Promise<LatencyRun> {
  const arrivals = new Map<string, number>();
  /** The main thread's schedstat when each answer arrived (keyed by its arrival time). */
  const arrivalStat = new Map<number, [number, number]>();
  /** BENCH_LATENCY_DETAIL: every thread's CPU when the probe's answer arrived. */
  let arrivalThreads: Map<number, number> | undefined;
  let measuring = false;
  /** The socket reader's client process. */
  const client: { pid?: number } = {};
  /** The main thread's CPU time and, with the client process's, run-queue wait (ns). */
  const waitStat = (): [number, number] | null => {
    const main = schedstat();
    const other = client.pid === undefined ? null : schedstat(client.pid);
    return main && other ? [main[0], main[1] + other[1]] : main;
  };
  // The moment the provider's answer is in hand: when the fetcher's promise resolves (for a batch
  // answer, the moment it resolves for every symbol in it: the cycle asks the synthetic source in
  // batches of its batchLatest.maxSymbols, 100).
  const timed = timedSynthetic((answers) => {
    // Read before the clock: the file read is not in the figure.
    if (DETAIL && measuring && answers.has(probe)) arrivalThreads = threadRun();
    const stat = measuring ? waitStat() : null;
    const at = performance.now();
    for (const symbol of answers.keys()) arrivals.set(symbol, at);
    if (stat) arrivalStat.set(at, stat);
  });
  const port = via === 'socket' ? await getFreePort() : 0;
  // The service's threads: the one it starts is the SQLite writer (its only worker_threads thread).
  const runtimeThreads = new Set(threadIds());
  const service = makeService(n, via === 'socket' ? { PORT: String(port) } : {}, timed);
  await warm(service, n);
  const reader = via === 'socket' ? await socketReader(service, port) : injectReader(service);
  if (reader.pid !== undefined) client.pid = reader.pid;
  const samples: number[] = [];
  const inMemory: number[] = [];
  const pending: Promise<void>[] = [];
  // One symbol per cycle, chosen at random, is read over HTTP the moment its signal exists: a random
  // position in the cycle's processing order, so the queueing behind other symbols is in the figure,
  // without the measurement itself (n reads at once) adding load to the thing measured.
  let probe = '';
  let probed: ProbeSample | undefined;
  let batchAt = -1;
  let position = 0;
  service.sidecar.onSignal((s) => {
    if (!measuring) return;
    const t0 = arrivals.get(s.symbol)!;
    const now = performance.now();
    inMemory.push(now - t0);
    if (t0 !== batchAt) [batchAt, position] = [t0, 0];
    else position++;
    if (s.symbol !== probe) return;
    const sample: ProbeSample = {
      ms: NaN,
      position,
      signalMs: now - t0,
      cycleMs: 0,
      cpuMs: 0,
      waitMs: 0,
      gc: '',
      writerMs: 0,
      othersMs: 0,
      top: '',
    };
    const stat0 = arrivalStat.get(t0);
    const threads0 = arrivalThreads;
    probed = sample;
    pending.push(
      reader.read(s.symbol).then((r) => {
        const stat1 = waitStat();
        if (r.status !== 200) return;
        sample.ms = r.at - t0;
        samples.push(sample.ms);
        // From the answer to the read (for the socket client, to the moment its answer came back).
        if (stat0 && stat1)
          [sample.cpuMs, sample.waitMs] = [(stat1[0] - stat0[0]) / 1e6, (stat1[1] - stat0[1]) / 1e6];
        if (threads0) {
          let top = 0;
          for (const [tid, ns] of threadRun()) {
            const ms = (ns - (threads0.get(tid) ?? 0)) / 1e6;
            if (tid === process.pid || ms <= 0) continue;
            if (runtimeThreads.has(tid)) sample.othersMs += ms;
            else sample.writerMs += ms;
            if (ms > top) [top, sample.top] = [ms, `${tid}:${ms.toFixed(2)}`];
          }
        }
      }),
    );
  });
  await service.sidecar.runCycle(); // JIT warm-up of the cycle
  // ... and of the HTTP path: fastify compiles a route's serializer on first use.
  for (let i = 0; i < 200; i++) await reader.read(symbolsOf(n)[i % n] ?? '');
  measuring = true;
  const names = symbolsOf(n);
  const gc = gcWatch();
  // The cycles run back to back here, each standing for one second of the 1 Hz loop: the idle GC's
  // request-rate guard reads a clock that advances a second per cycle, so one read per cycle is
  // 1 request a second to it, as in the loop (on the wall clock it was about 60 a second, over the
  // guard's 50: the idle GC stood aside and V8's scavenges landed inside the cycles).
  let virtualMs = 0;
  const idleGc = createIdleGc({ now: () => virtualMs });
  // The loop runs it before its first cycle too: what the warm-up left in the young generation (up to
  // 15.5 of 15.7 MB) was collected inside the first cycle otherwise, by V8's scavenge task.
  virtualMs += 1000;
  idleGc(1000);
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const all: ProbeSample[] = [];
  const threadsAtStart = DETAIL ? threadRun() : undefined;
  let youngCapacityBefore = 0;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < cycles; i++) {
    probe = names[Math.floor(Math.random() * n)] ?? '';
    probed = undefined;
    arrivalThreads = undefined;
    const young = GC_DETAIL ? heapFill() : undefined;
    const c0 = performance.now();
    await gc.inside(() => service.sidecar.runCycle());
    const c1 = performance.now();
    if (young) {
      // The young generation's size as V8 resizes it (grown by fast allocation, shrunk by its memory reducer).
      if (i > 0 && young.youngCapacity !== youngCapacityBefore)
        console.log(
          `  cycle ${i + 1}: young generation ${(young.youngCapacity / 2 ** 20).toFixed(2)} MB (was ${(youngCapacityBefore / 2 ** 20).toFixed(2)})`,
        );
      youngCapacityBefore = young.youngCapacity;
      if (i === 0)
        console.log(
          `  ${n} symbols: young generation at the first cycle's start ${(young.youngUsed / 2 ** 20).toFixed(2)} of ${(young.youngCapacity / 2 ** 20).toFixed(2)} MB`,
        );
      for (const e of gc.between(c0, c1)) {
        const d = (e as unknown as { detail: { kind: number; flags: number } }).detail;
        console.log(
          `  gc in cycle ${i + 1}: kind ${d.kind}, flags ${d.flags}, ${e.duration.toFixed(2)} ms, ${(e.startTime - c0).toFixed(2)} ms into a ${(c1 - c0).toFixed(2)} ms cycle; young generation at the cycle's start ${(young.youngUsed / 2 ** 20).toFixed(2)} of ${(young.youngCapacity / 2 ** 20).toFixed(2)} MB`,
        );
      }
    }
    await Promise.all(pending.splice(0));
    const p = probed as ProbeSample | undefined;
    if (p) {
      p.cycleMs = c1 - c0;
      p.gc = gc
        .between(c0, performance.now())
        .map((e) => `${(e as unknown as { detail: { kind: number } }).detail.kind}:${e.duration.toFixed(2)}`)
        .join(' ');
      all.push(p);
    }
    // What the 1 Hz loop does in the idle time after each cycle (pipeline/loop.ts, createIdleGc),
    // and a little of that idle time (the loop has the rest of the second): a full collection's
    // concurrent sweeping ends there instead of competing with the next cycle for the 2 cores.
    virtualMs += 1000;
    idleGc(1000 - (performance.now() - c0));
    arrivalStat.clear();
    await new Promise((r) => setTimeout(r, IDLE_MS));
  }
  const cpu = process.cpuUsage(cpu0);
  const threadsAtEnd = threadsAtStart ? threadRun() : undefined;
  const pauses = gc.stop().sort((a, b) => a - b);
  const rssMb = process.memoryUsage().rss / 1e6;
  await reader.close();
  await service.close();
  samples.sort((a, b) => a - b);
  inMemory.sort((a, b) => a - b);
  const measured = all.filter((p) => Number.isFinite(p.ms));
  const scheduled = measured
    .filter((p) => p.waitMs < 0.5)
    .map((p) => p.ms)
    .sort((a, b) => a - b);
  if (DETAIL) {
    console.log(
      `  ${n} symbols via ${via}, slowest samples (ms; position in its batch of answers; main thread on a CPU, and main thread and client process in the run queue, from the answer to the read; GC in the cycle, kind:ms):`,
    );
    for (const p of [...measured].sort((a, b) => b.ms - a.ms).slice(0, 10))
      console.log(
        `    ${p.ms.toFixed(2)} ms: position ${p.position}, signal at ${p.signalMs.toFixed(2)}, cycle ${p.cycleMs.toFixed(2)}, CPU ${p.cpuMs.toFixed(2)}, run-queue wait ${p.waitMs.toFixed(2)}, gc ${p.gc || '-'}; other threads' CPU: writer ${p.writerMs.toFixed(2)}, rest ${p.othersMs.toFixed(2)} (busiest ${p.top || '-'})`,
      );
    if (threadsAtStart && threadsAtEnd) {
      // Each thread's CPU over the whole measured run: which of the process's threads compete with the main one.
      const used = [...threadsAtEnd]
        .map(([tid, ns]) => [tid, (ns - (threadsAtStart.get(tid) ?? 0)) / 1e6] as const)
        .filter(([, ms]) => ms > 0.05)
        .sort((a, b) => b[1] - a[1])
        .map(
          ([tid, ms]) =>
            `${tid === process.pid ? 'main' : runtimeThreads.has(tid) ? tid : `${tid} (writer)`} ${ms.toFixed(1)}`,
        );
      console.log(
        `  ${n} symbols via ${via}, CPU per thread over the ${cycles} cycles, ms: ${used.join(', ')}`,
      );
    }
  }
  const stat = schedstat() !== null;
  return {
    p50: pct(samples, 50),
    p99: pct(samples, 99),
    samples: samples.length,
    memP50: pct(inMemory, 50),
    memP99: pct(inMemory, 99),
    gcInCycle: { count: pauses.length, p99: pct(pauses, 99), max: pauses.at(-1) ?? 0 },
    // The reads' own CPU is in it too (one read per cycle).
    cpuPerSymbolUs: (cpu.user + cpu.system) / (cycles * n),
    rssMb,
    descheduled: stat ? measured.filter((p) => p.waitMs >= 0.5).length : null,
    p99Scheduled: pct(scheduled, 99),
  };
}

/** p95 cycle time at n symbols (real cache, SQLite file, validator, indicators, scanner), with CPU and memory. */
async function cycleCost(
  n: number,
  cycles: number,
): Promise<{ p95: number; cpuPct: number; rssMb: number; cpuPerSymbolUs: number }> {
  const service = makeService(n);
  await warm(service, n, 40);
  await service.sidecar.runCycle();
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < cycles; i++) {
    const a = performance.now();
    await service.sidecar.runCycle();
    times.push(performance.now() - a);
    // The rest of each second is idle in production; let the store's flush and GC run.
    await new Promise((r) => setImmediate(r));
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const rssMb = process.memoryUsage().rss / 1e6;
  await service.close();
  times.sort((a, b) => a - b);
  return {
    p95: pct(times, 95),
    cpuPct: ((cpu.user + cpu.system) / 1000 / wall) * 100,
    rssMb,
    cpuPerSymbolUs: (cpu.user + cpu.system) / (cycles * n),
  };
}

/** Runs the real 1 Hz loop for `seconds` and counts overruns. */
async function liveLoop(
  n: number,
  seconds: number,
): Promise<{ overruns: number; cycles: number; cpuPct: number; rssMb: number; heapMb: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const service = makeService(n);
  await warm(service, n, 40);
  await service.sidecar.runCycle();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await service.sidecar.start({ skipBootstrap: true });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const h = service.sidecar.health();
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  const rssMb = process.memoryUsage().rss / 1e6;
  gc?.();
  // What this service holds (cache, indicators, validator state, signals, the source's paths).
  const heapMb = (process.memoryUsage().heapUsed - heap0) / 1e6;
  await service.close();
  return {
    overruns: h.loop.overruns,
    cycles: h.loop.cycles,
    cpuPct: ((cpu.user + cpu.system) / 1000 / wall) * 100,
    rssMb,
    heapMb,
  };
}

interface CannonResult {
  requests: { average: number };
  latency: { p99: number; p50: number; average: number };
  non2xx: number;
  errors: number;
}

function autocannon(args: string[]): Promise<CannonResult> {
  const bin = join(repoRoot(), 'apps', 'sidecar', 'node_modules', 'autocannon', 'autocannon.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, '-j', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as CannonResult) : reject(new Error(`autocannon exited ${code}`)),
    );
  });
}

async function load(): Promise<void> {
  const port = await getFreePort();
  const service = makeService(100, {
    PORT: String(port),
    ...(process.env.BENCH_IDLE_GC ? { IDLE_GC: process.env.BENCH_IDLE_GC } : {}),
  });
  await warm(service, 100);
  await service.sidecar.start({ skipBootstrap: true });
  await service.listen();
  const url = `http://127.0.0.1:${port}/signals/SYM00042`;
  const secs = LONG ? 30 : 10;
  await autocannon(['-c', '20', '-d', '2', url]); // warm-up
  // autocannon's -R hands out each second's quota at the start of the second, so every connection
  // fires at once: 50 connections make 50-deep bursts, landing on the wall-clock-aligned collection
  // cycle. The goal is measured with 10 clients (a realistic set of bots); 50 is shown as well.
  const fixed = await autocannon(['-c', '10', '-d', String(secs), '-R', '5000', url]);
  const fixed50 = await autocannon(['-c', '50', '-d', String(secs), '-R', '5000', url]);
  const max = await autocannon(['-c', '50', '-d', String(secs), url]);
  await service.close();
  row({
    case: 'GET /signals/:symbol fixed 5,000 req/s, 10 conns: achieved',
    unit: 'req/s',
    ours: fixed.requests.average,
    goal: '5,000',
    pass: fixed.requests.average >= 4750,
  });
  row({
    case: 'GET /signals/:symbol fixed 5,000 req/s, 10 conns: p99 latency',
    unit: 'ms',
    ours: fixed.latency.p99,
    goal: '< 5 ms',
    pass: fixed.latency.p99 < 5,
  });
  row({
    case: 'GET /signals/:symbol fixed 5,000 req/s, 50 conns (bursts): p99 latency',
    unit: 'ms',
    ours: fixed50.latency.p99,
  });
  row({
    case: 'GET /signals/:symbol max throughput, 50 conns',
    unit: 'req/s',
    ours: max.requests.average,
    baseline: 'ARCHITECTURE.md: fastify small JSON 16,000-19,000 req/s',
    baselineValue: 17_500,
    ratio: max.requests.average / 17_500,
  });
  row({ case: 'GET /signals/:symbol max throughput: p99 latency', unit: 'ms', ours: max.latency.p99 });
  if (fixed.non2xx + fixed50.non2xx + max.non2xx + fixed.errors + fixed50.errors + max.errors > 0)
    throw new Error('load test saw errors or non-2xx answers');
}

async function main(): Promise<void> {
  for (const n of ONLY.has('latency') ? LATENCY_SIZES : []) {
    // One HTTP sample per cycle: 1,000 cycles (300 at 1,000 symbols) so the p99 is not the slowest of a handful.
    const cycles = LATENCY_CYCLES ?? (LONG ? 3000 : n >= 1000 ? 300 : 1000);
    const r = await latency(n, cycles);
    // Issue 16's goals at 100 and 1,000 symbols (issue 7's was p99 < 5 ms at 100).
    const goal = n >= 100;
    row({ case: `provider answer -> signal readable via HTTP, ${n} symbols: p50`, unit: 'ms', ours: r.p50 });
    row({
      case: `provider answer -> signal readable via HTTP, ${n} symbols: p99`,
      unit: 'ms',
      ours: r.p99,
      ...(goal ? { goal: '< 2 ms', pass: r.p99 < 2 } : {}),
    });
    row({
      case: `provider answer -> signal in memory (onSignal), ${n} symbols: p50`,
      unit: 'ms',
      ours: r.memP50,
    });
    row({
      case: `provider answer -> signal in memory (onSignal), ${n} symbols: p99`,
      unit: 'ms',
      ours: r.memP99,
    });
    row({ case: `GC pauses inside the cycle, ${n} symbols: count`, unit: 'pauses', ours: r.gcInCycle.count });
    row({
      case: `GC pauses inside the cycle, ${n} symbols: max`,
      unit: 'ms',
      ours: r.gcInCycle.max,
      ...(goal ? { goal: '< 1 ms', pass: r.gcInCycle.max < 1 } : {}),
    });
    row({ case: `GC pauses inside the cycle, ${n} symbols: p99`, unit: 'ms', ours: r.gcInCycle.p99 });
    if (r.descheduled !== null) {
      // The machine, not the code: a sample during which the main thread sat in the run queue (other
      // processes on the 2 cores) is slow whatever the cycle does.
      row({
        case: `samples whose main thread waited >= 0.5 ms for a CPU between answer and read, ${n} symbols`,
        unit: 'samples',
        ours: r.descheduled,
      });
      row({
        case: `provider answer -> signal readable via HTTP, ${n} symbols: p99 of the other samples`,
        unit: 'ms',
        ours: r.p99Scheduled,
      });
    }
    row({
      case: `process CPU per symbol per cycle (with one HTTP read per cycle), ${n} symbols`,
      unit: 'us',
      ours: r.cpuPerSymbolUs,
    });
    row({ case: `process RSS after the ${n}-symbol latency run`, unit: 'MB', ours: r.rssMb });
    if (n < 100 || !LATENCY_VIA.has('socket')) continue;
    // The same with a real client: its own process, one keep-alive TCP connection, told over IPC
    // to read the moment the signal exists (its wake-up and the loopback round trip are in it).
    const sock = await latency(n, cycles, 'socket');
    row({
      case: `provider answer -> signal read by a client process over TCP, ${n} symbols: p50`,
      unit: 'ms',
      ours: sock.p50,
    });
    row({
      case: `provider answer -> signal read by a client process over TCP, ${n} symbols: p99`,
      unit: 'ms',
      ours: sock.p99,
    });
    if (sock.descheduled !== null)
      row({
        case: `provider answer -> signal read by a client process over TCP, ${n} symbols: p99 of the samples without run-queue wait`,
        unit: 'ms',
        ours: sock.p99Scheduled,
      });
  }

  for (const n of ONLY.has('live') ? LIVE_SIZES : []) {
    const r = await liveLatency(n, LIVE_SECONDS);
    const tag = `real 1 Hz loop, ${n} symbols`;
    row({ case: `provider answer -> signal readable via HTTP, ${tag}: p50`, unit: 'ms', ours: r.p50 });
    row({ case: `provider answer -> signal readable via HTTP, ${tag}: p99`, unit: 'ms', ours: r.p99 });
    row({
      case: `provider answer -> signal readable via HTTP, ${tag}: samples`,
      unit: 'samples',
      ours: r.samples,
    });
    row({
      case: `samples whose main thread waited >= 0.5 ms for a CPU between answer and read, ${tag}`,
      unit: 'samples',
      ours: r.descheduled,
    });
    row({
      case: `provider answer -> signal readable via HTTP, ${tag}: p99 of the other samples`,
      unit: 'ms',
      ours: r.p99Scheduled,
    });
    row({ case: `GC pauses inside the cycle, ${tag}: count`, unit: 'pauses', ours: r.gcInCycle.length });
    row({ case: `GC pauses inside the cycle, ${tag}: max`, unit: 'ms', ours: r.gcInCycle.at(-1) ?? 0 });
    row({ case: `GC pauses in all, ${tag}`, unit: 'pauses', ours: r.gcs });
    row({ case: `longest cycle, ${tag}`, unit: 'ms', ours: r.cycleMax });
    if (r.cycleMaxGc) console.log(`  ${tag}: GC pauses in the longest cycle, ms: ${r.cycleMaxGc}`);
    row({ case: `young generation at its smallest, ${tag}`, unit: 'MB', ours: r.youngMinMb });
    row({ case: `process RSS after the live run, ${tag}`, unit: 'MB', ours: r.rssMb });
  }

  // Bounded search for the largest symbol count whose cycle fits in 1 s with 20 % headroom.
  if (ONLY.has('scale')) await scale();
  if (ONLY.has('load')) await load();
  report();
}

/** BENCH_LIVE_SIZES=100,400: the symbol counts of the live-loop latency runs (BENCH_ONLY=live). */
const LIVE_SIZES = (process.env.BENCH_LIVE_SIZES ?? '100,400').split(',').map(Number);
/** BENCH_LIVE_SECONDS=75: how long each live-loop run measures (one sample per cycle, i.e. per second). */
const LIVE_SECONDS = Number(process.env.BENCH_LIVE_SECONDS ?? 75);

/**
 * The same probe as latency() in the sidecar's real 1 Hz loop (sidecar.start: the loop's timer and its
 * idle GC), where a cycle is followed by most of a second of idle time instead of 10 ms. Slow allocation
 * lets V8's memory reducer shrink the young generation (to 1 MB without --min-semi-space-size), which the
 * back-to-back cycles of latency() never show: a cycle that allocates more than that is then collected
 * inside the cycle. One sample per cycle, so a run's p99 is about its slowest sample.
 */
async function liveLatency(
  n: number,
  seconds: number,
): Promise<{
  p50: number;
  p99: number;
  samples: number;
  /** Samples whose main thread waited >= 0.5 ms in the run queue between answer and read, and the p99 of the others. */
  descheduled: number;
  p99Scheduled: number;
  gcInCycle: number[];
  gcs: number;
  /** The longest cycle, ms (the loop's millisecond clock), and the GC pauses that began in it. */
  cycleMax: number;
  cycleMaxGc: string;
  youngMinMb: number;
  rssMb: number;
}> {
  const arrivals = new Map<string, number>();
  /** The main thread's run-queue wait (ns) when each answer arrived, by arrival time. */
  const arrivalWait = new Map<number, number>();
  const timed = timedSynthetic((answers) => {
    // Read before the clock: the file read is not in the figure.
    const wait = schedstat()?.[1];
    const at = performance.now();
    for (const symbol of answers.keys()) arrivals.set(symbol, at);
    if (wait !== undefined) arrivalWait.set(at, wait);
  });
  const service = makeService(n, {}, timed);
  await warm(service, n);
  const names = symbolsOf(n);
  // fastify compiles a route's serializer on first use: warm the read path first.
  await service.sidecar.runCycle();
  for (let i = 0; i < 200; i++)
    await service.app.inject({ method: 'GET', url: `/signals/${names[i % n] ?? ''}` });
  const gcs: { start: number; ms: number }[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, ms: e.duration });
  });
  obs.observe({ entryTypes: ['gc'] });
  const cycles: [number, number][] = [];
  const samples: number[] = [];
  const scheduled: number[] = [];
  let youngMin = Infinity;
  let probe = '';
  let measuring = false;
  service.sidecar.onCycle((r) => {
    const end = performance.now();
    if (measuring) {
      cycles.push([end - r.durationMs, end]);
      youngMin = Math.min(youngMin, heapFill().youngCapacity);
    }
    probe = names[Math.floor(Math.random() * n)] ?? '';
  });
  service.sidecar.onSignal((sig) => {
    if (!measuring || sig.symbol !== probe) return;
    const t0 = arrivals.get(sig.symbol) ?? NaN;
    const wait0 = arrivalWait.get(t0);
    void service.app.inject({ method: 'GET', url: `/signals/${sig.symbol}` }).then((r) => {
      const ms = performance.now() - t0;
      const wait1 = schedstat()?.[1];
      if (r.statusCode !== 200) return;
      samples.push(ms);
      if (wait0 !== undefined && wait1 !== undefined && wait1 - wait0 < 0.5e6) scheduled.push(ms);
    });
  });
  await service.sidecar.start({ skipBootstrap: true });
  // A few cycles to settle first.
  await new Promise((r) => setTimeout(r, 3000));
  measuring = true;
  const from = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  obs.disconnect();
  const rssMb = process.memoryUsage().rss / 1e6;
  await service.close();
  // A pause that began inside a cycle (its duration is on the loop's millisecond clock).
  const inCycle = gcs
    .filter((g) => g.start >= from && cycles.some(([a, b]) => g.start >= a && g.start <= b))
    .map((g) => g.ms)
    .sort((a, b) => a - b);
  const longest = cycles.reduce<[number, number]>((m, c) => (c[1] - c[0] > m[1] - m[0] ? c : m), [0, 0]);
  const longestGc = gcs.filter((g) => g.start >= longest[0] && g.start <= longest[1]);
  samples.sort((a, b) => a - b);
  scheduled.sort((a, b) => a - b);
  return {
    p50: pct(samples, 50),
    p99: pct(samples, 99),
    samples: samples.length,
    descheduled: samples.length - scheduled.length,
    p99Scheduled: pct(scheduled, 99),
    gcInCycle: inCycle,
    gcs: gcs.filter((g) => g.start >= from).length,
    cycleMax: longest[1] - longest[0],
    cycleMaxGc: longestGc.map((g) => g.ms.toFixed(2)).join(' '),
    youngMinMb: youngMin / 2 ** 20,
    rssMb,
  };
}

async function scale(): Promise<void> {
  // Issue 16: at most 10 us of CPU per symbol per cycle at 20,000 symbols (one core: 100,000 symbols
  // at 1 Hz). Process CPU (the SQLite writer thread included) over cycles and the idle turn after each.
  const big = await cycleCost(20_000, LONG ? 10 : 4);
  row({
    case: 'process CPU per symbol per cycle, 20,000 symbols (synthetic source, in-process cache, SQLite file)',
    unit: 'us',
    ours: big.cpuPerSymbolUs,
    goal: '<= 10 us',
    pass: big.cpuPerSymbolUs <= 10,
  });
  row({ case: 'cycle p95 at 20,000 symbols (wall; the machine is shared)', unit: 'ms', ours: big.p95 });
  row({ case: 'process RSS after the 20,000-symbol cycles', unit: 'MB', ours: big.rssMb });
  const budgetMs = 800;
  let lo = 0;
  let hi = 0;
  for (const n of [500, 1000, 2000, 4000, 8000, 16000]) {
    const c = await cycleCost(n, LONG ? 10 : 4);
    console.log(`  scale probe ${n} symbols: cycle p95 ${c.p95.toFixed(1)} ms`);
    if (c.p95 <= budgetMs) lo = n;
    else {
      hi = n;
      break;
    }
  }
  if (hi > 0) {
    for (let i = 0; i < 3 && hi - lo > lo / 8; i++) {
      const mid = Math.round((lo + hi) / 2 / 100) * 100;
      const c = await cycleCost(mid, 4);
      console.log(`  scale probe ${mid} symbols: cycle p95 ${c.p95.toFixed(1)} ms`);
      if (c.p95 <= budgetMs) lo = mid;
      else hi = mid;
    }
  }
  // Confirm on the real clock-driven loop; step down 15 % at a time until a run has no overrun.
  let best = lo;
  let live = await liveLoop(best, LONG ? 60 : 12);
  for (let i = 0; i < 4 && live.overruns > 0; i++) {
    console.log(
      `  live loop at ${best} symbols: ${live.overruns} overruns in ${live.cycles} cycles; stepping down`,
    );
    best = Math.round((best * 0.85) / 100) * 100;
    live = await liveLoop(best, LONG ? 60 : 12);
  }
  row({
    case: 'symbols collected at 1 Hz without overruns (synthetic source, in-process cache, SQLite file)',
    unit: 'symbols',
    ours: live.overruns === 0 ? best : 0,
    goal: '>= 2,000',
    pass: live.overruns === 0 && best >= 2000,
  });
  row({
    case: `live 1 Hz loop at ${best} symbols: overruns in ${live.cycles} cycles`,
    unit: 'overruns',
    ours: live.overruns,
  });
  row({ case: `live 1 Hz loop at ${best} symbols: process CPU`, unit: '% of one core', ours: live.cpuPct });
  row({
    case: `live 1 Hz loop at ${best} symbols: JS heap held by the service (after GC)`,
    unit: 'MB',
    ours: live.heapMb,
  });
  row({
    case: 'process RSS at the end of the live loop (includes the larger probes run before it)',
    unit: 'MB',
    ours: live.rssMb,
  });
}

function report(): void {
  // The machine is shared (other builds and tests may run): record how busy it was.
  row({
    case: 'machine load average (1 min) at the end of the run, 2 cores',
    unit: 'load',
    ours: loadavg()[0] ?? NaN,
  });
  console.table(
    rows.map((r) => ({ case: r.case, ours: r.ours, unit: r.unit, goal: r.goal ?? '', pass: r.pass ?? '' })),
  );
  const file = join(repoRoot(), 'bench-results', 'sidecar.json');
  // A partial run (BENCH_ONLY) keeps the other rows of the previous full run.
  let all = rows;
  if (process.env.BENCH_ONLY && existsSync(file)) {
    const previous = (JSON.parse(readFileSync(file, 'utf8')) as { rows: Row[] }).rows;
    const fresh = new Set(rows.map((r) => r.case.replace(/ \d+ symbols/, '')));
    all = [
      ...rows,
      ...previous.filter(
        (r) => !fresh.has(r.case.replace(/ \d+ symbols/, '')) && !r.case.startsWith('machine load'),
      ),
    ];
  }
  writeBenchResult('sidecar', { package: '@pipeline/sidecar', rows: all });
  cleanupTempDirs();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
