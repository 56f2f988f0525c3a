// Profile of the collection cycle (issue 16): the sidecar as bench/sidecar.bench.ts runs it (synthetic
// source, in-process cache, SQLite file on its writer thread, indicators warmed with 40 bars), at 2,000
// and 20,000 symbols. Per size: a few unprofiled cycles give the CPU per symbol per cycle; the same
// number of cycles then run under the V8 CPU profiler (node:inspector Profiler, 100 us sampling) and
// the sampling heap profiler (HeapProfiler.startSampling, every 8 KiB, objects collected by minor and
// major GCs included, so short-lived garbage counts). The store's pending rows are flushed inside the
// profiled window, so its cost is counted once per bar as in production (where the flush runs every
// BATCH_WRITE_INTERVAL on the writer thread).
//
// Run: pnpm --filter @pipeline/sidecar bench:profile (tsx with the sidecar's V8 flags, src/wiring/node-flags.ts)
//      PROFILE_SIZES=2000,20000 PROFILE_CYCLES=5 (defaults), PROFILE_OUT=<dir> (default <repo>/bench-results)
// Prints a markdown table per size (CPU by stage, top self-time functions, allocation by stage and top
// allocation sites) and writes profile-<n>.cpuprofile / .heapprofile (open them in Chrome DevTools) and
// sidecar-profile.json.
//
// Attribution: a sample's stage is the stage of the nearest frame on its stack that is workspace code
// (or better-sqlite3 / prom-client / winston), so a builtin (Map#get, a Promise job) counts for the code
// that called it; shared helpers and glue (@pipeline/core, the symbol mapper, wiring.ts, sidecar.ts) count
// for their caller
// too. "state" is health, freshness, symbol state, metrics, events, logging and the HTTP stream feed.
// Frames with no such ancestor (timers, microtask plumbing, the profiler) are "other";
// "(garbage collector)" is "gc"; "(program)" (native code V8 cannot attribute) is "other" too.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { systemClock } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { cleanupTempDirs, repoRoot, tempSqlitePath } from '@pipeline/test-utils';
import { createIdleGc } from '../src/pipeline/loop';
import { missingNodeFlags } from '../src/wiring/node-flags';
import { loadConfig } from '../src/wiring/config';
import { createService, type Service } from '../src/wiring/service';

const SIZES = (process.env.PROFILE_SIZES ?? '2000,20000').split(',').map(Number);
const CYCLES = Number(process.env.PROFILE_CYCLES ?? 5);
const OUT = process.env.PROFILE_OUT ?? join(repoRoot(), 'bench-results');

export const STAGES = [
  'collect',
  'fetch',
  'validate',
  'features',
  'signals',
  'cache',
  'store',
  'state',
  'gc',
  'other',
] as const;
export type Stage = (typeof STAGES)[number];

/** Stage of a script URL, or null when the URL is not code we attribute (builtins, node internals). */
export function stageOfUrl(url: string): Stage | null {
  if (!url) return null;
  const u = url.replace(/\\/g, '/');
  const rules: Array<[RegExp, Stage]> = [
    [/\/packages\/(fetchers|breaker)\/|\/pipeline\/(fallback|planner)\.ts/, 'fetch'],
    [/\/packages\/validator\/|\/pipeline\/ingest\.ts/, 'validate'],
    [/\/packages\/features\/|\/strategy\/features\.ts/, 'features'],
    [/\/strategy\/(scanner|signals)\.ts/, 'signals'],
    [/\/packages\/redis-kb\//, 'cache'],
    [/\/packages\/(sqlite-store|pg-store)\/|better-sqlite3|\/pipeline\/sinks\.ts/, 'store'],
    [
      /\/packages\/metrics\/|prom-client|winston|logform|\/src\/state\/|\/src\/events\.ts|\/src\/http\/|\/wiring\/logger\.ts/,
      'state',
    ],
    [/\/pipeline\/(collect|loop|gap-repair)\.ts|\/apps\/sidecar\/src\/sidecar\.ts/, 'collect'],
  ];
  // Shared helpers count for whoever called them: the walk goes on up the stack.
  if (/\/packages\/(core|symbol-mapper)\/|\/wiring\/wiring\.ts|\/apps\/sidecar\/src\/sidecar\.ts/.test(u))
    return null;
  for (const [re, stage] of rules) if (re.test(u)) return stage;
  if (u.includes('/work/') && !u.includes('/node_modules/')) return 'other'; // other workspace code
  return null;
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface CpuNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: CpuNode[];
  samples: number[];
  timeDeltas: number[];
}
interface HeapNode {
  id: number;
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}
interface HeapProfile {
  head: HeapNode;
  samples: Array<{ size: number; nodeId: number }>;
}

const shortUrl = (url: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '')
    .replace(/^.*?\/(packages|apps)\//, '$1/');
const site = (f: CallFrame) => `${f.functionName || '(anonymous)'} ${f.url ? shortUrl(f.url) : '(native)'}`; // tsx's line numbers are not the source's

/** Stage of a frame given its ancestors (nearest attributable frame wins). */
function stageOf(frames: CallFrame[]): Stage {
  if (frames[0]?.functionName === '(garbage collector)') return 'gc';
  for (const f of frames) {
    const s = stageOfUrl(f.url);
    if (s) return s;
  }
  return 'other';
}

export interface Breakdown {
  byStage: Record<Stage, number>;
  top: Array<{ site: string; stage: Stage; value: number }>;
  total: number;
}

/** Self time (us) per stage and per function, from a CPU profile ("(idle)" left out). */
export function cpuBreakdown(p: CpuProfile, topN = 12): Breakdown {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i];
    if (id === undefined) continue;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i + 1] ?? 0));
  }
  return aggregate(
    [...self.entries()].map(([id, us]) => ({ frames: chain(id, byId, parent), value: us })),
    topN,
  );
}

/** Bytes allocated per stage and per site, from a sampling heap profile. */
export function heapBreakdown(p: HeapProfile, topN = 12): Breakdown {
  const byId = new Map<number, HeapNode>();
  const parent = new Map<number, number>();
  const walk = (n: HeapNode) => {
    byId.set(n.id, n);
    for (const c of n.children) {
      parent.set(c.id, n.id);
      walk(c);
    }
  };
  walk(p.head);
  const bytes = new Map<number, number>();
  for (const s of p.samples) bytes.set(s.nodeId, (bytes.get(s.nodeId) ?? 0) + s.size);
  return aggregate(
    [...bytes.entries()].map(([id, b]) => ({ frames: chain(id, byId, parent), value: b })),
    topN,
  );
}

function scaleBreakdown(b: Breakdown, k: number): Breakdown {
  return {
    byStage: Object.fromEntries(STAGES.map((s) => [s, b.byStage[s] / k])) as Record<Stage, number>,
    top: b.top.map((t) => ({ ...t, value: t.value / k })),
    total: b.total / k,
  };
}

function chain(id: number, byId: Map<number, { callFrame: CallFrame }>, parent: Map<number, number>) {
  const frames: CallFrame[] = [];
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const node = byId.get(cur);
    if (node) frames.push(node.callFrame);
    else break;
  }
  // A heap sample can name a node the returned tree no longer holds.
  if (frames.length === 0) frames.push({ functionName: '(unknown node)', url: '', lineNumber: 0 });
  return frames;
}

function aggregate(items: Array<{ frames: CallFrame[]; value: number }>, topN: number): Breakdown {
  const byStage = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
  const bySite = new Map<string, { site: string; stage: Stage; value: number }>();
  let total = 0;
  for (const { frames, value } of items) {
    const leaf = frames[0];
    if (!leaf || leaf.functionName === '(idle)' || leaf.functionName === '(root)') continue;
    // The profilers' own work (the heap profile handed over through the inspector session at the
    // end of the window, `dispatch` under `post`): not the sidecar's; it was about 2 us per symbol.
    if (frames.some((f) => f.url === 'node:inspector')) continue;
    const stage = stageOf(frames);
    byStage[stage] += value;
    total += value;
    const key = site(leaf);
    const e = bySite.get(key) ?? { site: key, stage, value: 0 };
    e.value += value;
    bySite.set(key, e);
  }
  const top = [...bySite.values()].sort((a, b) => b.value - a.value).slice(0, topN);
  return { byStage, top, total };
}

const symbolsOf = (n: number) => Array.from({ length: n }, (_, i) => `SYM${String(i).padStart(5, '0')}`);

function makeService(n: number): Service {
  const config = loadConfig({
    SYMBOLS: symbolsOf(n).join(','),
    SOURCES: 'synthetic',
    BOOTSTRAP_DAYS: '0',
    SQLITE_PATH: tempSqlitePath('profile'),
    LOG_LEVEL: 'error',
  });
  const f = createSyntheticFetcher({ clock: systemClock });
  return createService(config, { overrides: { sources: [{ name: 'synthetic', fetcher: f }] } });
}

/** As bench/sidecar.bench.ts: 40 bars of history through the indicators, so every cycle yields a signal. */
async function warm(service: Service, n: number, bars = 40): Promise<void> {
  const f = service.deps.sources[0]?.fetcher;
  if (!f) throw new Error('the service has no source');
  const now = Date.now();
  for (const symbol of symbolsOf(n)) {
    const history = await f.fetchHistory({
      symbol,
      timeframe: '1m',
      from: now - bars * 60_000,
      to: now - 60_000,
    });
    for (const b of history) service.deps.features.update(b);
  }
}

const flushStore = async (service: Service) =>
  (service.deps.store as { flush?: () => Promise<void> }).flush?.();

/** What the 1 Hz loop runs in the idle time after each cycle (pipeline/loop.ts): one per service. */
const idleGcs = new WeakMap<Service, (idleMs: number) => void>();

async function cycles(service: Service, count: number): Promise<{ cpuUs: number; wallMs: number }> {
  let idleGc = idleGcs.get(service);
  if (!idleGc) idleGcs.set(service, (idleGc = createIdleGc()));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const c0 = performance.now();
    await service.sidecar.runCycle();
    // The idle rest of the second: the loop's garbage collection (IDLE_GC, on by default; its
    // CPU counts), then the store's timers and I/O.
    if (service.sidecar.config.idleGc) idleGc(1000 - (performance.now() - c0));
    await new Promise((r) => setImmediate(r));
  }
  await flushStore(service);
  const c = process.cpuUsage(cpu0);
  return { cpuUs: c.user + c.system, wallMs: performance.now() - t0 };
}

interface SizeResult {
  symbols: number;
  cycles: number;
  cpuUsPerSymbolCycle: number;
  wallMsPerCycle: number;
  profiledCpuUsPerSymbolCycle: number;
  rssMB: number;
  cpu: Breakdown;
  alloc: Breakdown;
  loadavg1m: number;
}

async function profileSize(session: Session, n: number): Promise<SizeResult> {
  const service = makeService(n);
  try {
    await warm(service, n);
    // Two warm-up cycles, with the idle GC (its first call is a full collection: not in the window).
    await cycles(service, 2);
    const plain = await cycles(service, CYCLES);
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 8192,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    const profiled = await cycles(service, CYCLES);
    const { profile: heap } = (await session.post('HeapProfiler.stopSampling')) as unknown as {
      profile: HeapProfile;
    };
    const { profile: cpu } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    mkdirSync(OUT, { recursive: true });
    const tag = `${n}`;
    writeFileSync(join(OUT, `profile-${tag}.cpuprofile`), JSON.stringify(cpu));
    writeFileSync(join(OUT, `profile-${tag}.heapprofile`), JSON.stringify(heap));
    const per = n * CYCLES;
    return {
      symbols: n,
      cycles: CYCLES,
      cpuUsPerSymbolCycle: plain.cpuUs / per,
      wallMsPerCycle: plain.wallMs / CYCLES,
      profiledCpuUsPerSymbolCycle: profiled.cpuUs / per,
      rssMB: process.memoryUsage().rss / 2 ** 20,
      cpu: scaleBreakdown(cpuBreakdown(cpu), per),
      alloc: scaleBreakdown(heapBreakdown(heap), per),
      loadavg1m: loadavg()[0] ?? NaN,
    };
  } finally {
    await service.close();
  }
}

const f1 = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** Issue 16: CPU per symbol per cycle at 20,000 symbols, us. */
const GOAL_US = 10;

function table(results: SizeResult[]): string {
  const lines: string[] = [];
  const head = results.map((r) => `${r.symbols.toLocaleString('en-US')} symbols`);
  const cells = (f: (r: SizeResult) => string) => results.map(f).join(' | ');
  // CPU figures: a stage's (or function's) share of the profile applied to the unprofiled CPU, since the
  // profilers themselves inflate the CPU they observe.
  const scaled = (r: SizeResult, v: number) =>
    `${f1((v / r.cpu.total) * r.cpuUsPerSymbolCycle)} (${((100 * v) / r.cpu.total).toFixed(1)} %)`;
  lines.push(
    `| per symbol per cycle | ${head.join(' | ')} |`,
    `| --- |${results.map(() => ' --- |').join('')}`,
  );
  lines.push(`| process CPU, unprofiled (us) | ${cells((r) => f1(r.cpuUsPerSymbolCycle))} |`);
  // Issue 16's goal: at most 10 us per symbol per cycle at 20,000 symbols.
  const goal = (r: SizeResult) =>
    r.symbols < 20_000
      ? ''
      : r.cpuUsPerSymbolCycle <= GOAL_US
        ? `<= ${GOAL_US} us: met`
        : `<= ${GOAL_US} us: missed ${(r.cpuUsPerSymbolCycle / GOAL_US).toFixed(1)}x`;
  lines.push(`| goal (issue 16) | ${cells(goal)} |`);
  lines.push(`| wall time per cycle (ms) | ${cells((r) => f1(r.wallMsPerCycle))} |`);
  lines.push(`| main-thread CPU under the profilers (us) | ${cells((r) => f1(r.cpu.total))} |`);
  for (const s of STAGES) lines.push(`| - ${s}: us (share) | ${cells((r) => scaled(r, r.cpu.byStage[s]))} |`);
  lines.push(`| allocated (bytes, sampled) | ${cells((r) => f1(r.alloc.total))} |`);
  for (const s of STAGES)
    if (results.some((r) => r.alloc.byStage[s] > 0))
      lines.push(`| - ${s} (bytes) | ${cells((r) => f1(r.alloc.byStage[s]))} |`);
  const out = [lines.join('\n')];
  for (const r of results) {
    const n = r.symbols.toLocaleString('en-US');
    out.push(
      `\nTop self time at ${n} symbols (us per symbol per cycle, share):\n\n| function | stage | us (share) |\n| --- | --- | --- |\n` +
        r.cpu.top.map((t) => `| \`${t.site}\` | ${t.stage} | ${scaled(r, t.value)} |`).join('\n'),
    );
    out.push(
      `\nTop allocation sites at ${n} symbols (bytes per symbol per cycle):\n\n| site | stage | bytes |\n| --- | --- | --- |\n` +
        r.alloc.top.map((t) => `| \`${t.site}\` | ${t.stage} | ${f1(t.value)} |`).join('\n'),
    );
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('HeapProfiler.enable');
  const load0 = loadavg()[0] ?? NaN;
  const results: SizeResult[] = [];
  try {
    for (const n of SIZES) {
      process.stderr.write(`profiling ${n} symbols, ${CYCLES} cycles ...\n`);
      results.push(await profileSize(session, n));
    }
  } finally {
    session.disconnect();
    cleanupTempDirs();
  }
  const date = new Date().toISOString();
  const missing = missingNodeFlags();
  const flags = missing.length === 0 ? "the sidecar's V8 flags" : `without ${missing.join(' ')}`;
  console.log(
    `${date}, ${cpus().length} CPUs, Node ${process.version}, ${flags}, 1-min load average ${load0.toFixed(1)} at start, ` +
      results.map((r) => `${r.loadavg1m.toFixed(1)} after ${r.symbols}`).join(', '),
  );
  console.log(table(results));
  writeFileSync(
    join(OUT, 'sidecar-profile.json'),
    JSON.stringify(
      { date, cpus: cpus().length, node: process.version, loadavgAtStart: load0, results },
      null,
      2,
    ) + '\n',
  );
}

/**
 * PROFILE_REPORT=<sidecar-profile.json>: no run; re-reads that file and the .cpuprofile/.heapprofile
 * files beside it and prints the table again (after a change to the attribution rules).
 */
function report(file: string): void {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { memoCalendar?: boolean; results: SizeResult[] };
  const dir = dirname(file);
  const results = saved.results.map((r) => {
    const tag = saved.memoCalendar ? `${r.symbols}-memo-calendar` : `${r.symbols}`;
    const per = r.symbols * r.cycles;
    const cpu = cpuBreakdown(
      JSON.parse(readFileSync(join(dir, `profile-${tag}.cpuprofile`), 'utf8')) as CpuProfile,
    );
    const alloc = heapBreakdown(
      JSON.parse(readFileSync(join(dir, `profile-${tag}.heapprofile`), 'utf8')) as HeapProfile,
    );
    return { ...r, cpu: scaleBreakdown(cpu, per), alloc: scaleBreakdown(alloc, per) };
  });
  console.log(table(results));
}

if (process.env.PROFILE_REPORT) report(process.env.PROFILE_REPORT);
else
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
