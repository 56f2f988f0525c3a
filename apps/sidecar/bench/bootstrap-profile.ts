// Where the bootstrap's CPU goes, by stage, from the V8 CPU profiles of one bench/bootstrap.bench.ts
// run (issue 16). Run the bench under the profiler, then this on the directory it wrote:
//
//   cd apps/sidecar
//   BENCH_SYMBOLS=1000 node --cpu-prof --cpu-prof-dir=/tmp/boot-prof --import tsx bench/bootstrap.bench.ts
//   npx tsx bench/bootstrap-profile.ts /tmp/boot-prof 5760000      # directory, bars stored (printed by the bench)
//
// Every .cpuprofile in the directory is one thread. The main thread is the one that ran
// `runBootstrap`; the SQLite writer is the one that ran the writer's transaction. A sample counts for
// the stage of the nearest frame on its stack that belongs to one (so a builtin such as Map#get
// counts for the code that called it). Prints a markdown table: ms and microseconds per stored bar.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

/** Stages, tried from the sampled frame towards the root; the first that matches a frame wins. */
const STAGES: [string, (fn: string, url: string) => boolean][] = [
  ['garbage collection', (fn) => fn === '(garbage collector)'],
  ['idle', (fn) => fn === '(idle)'],
  [
    'HTTP: GET /health every 50 ms (the poller)',
    (_fn, url) =>
      /fastify|find-my-way|_http_|node:net|routes\/health|state\/health|http\/|avvio|light-my-request/.test(
        url,
      ),
  ],
  ['fetch: synthetic source', (_fn, url) => url.includes('/fetchers/')],
  ['validate: validateSeries + copies', (fn, url) => url.includes('/validator/') || fn === 'validateHistory'],
  [
    'store: backfill (check, pack, hand to the writer)',
    (fn, url) =>
      url.includes('sqlite-store') &&
      /backfill|encodeBarList|encodeStorableBars|packBars|post|barProblem|putRow/.test(fn),
  ],
  [
    'store: reads (latest, gaps, state)',
    (_fn, url) => url.includes('sqlite-store') || url.includes('better-sqlite3'),
  ],
  ['hot cache: writeBars', (_fn, url) => url.includes('/redis-kb/')],
  ['indicators (warm start)', (_fn, url) => url.includes('/features/') || url.includes('strategy/features')],
  ['bootstrap, warm, fill, scan: own code', (_fn, url) => /pipeline\/|breaker\//.test(url)],
  ['module loading (tsx)', (_fn, url) => /esm\/|cjs\/|tsx|source_map/.test(url)],
];

function breakdown(p: CpuProfile): Map<string, number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageOf = new Map<number, string>();
  const resolve = (id: number): string => {
    const known = stageOf.get(id);
    if (known) return known;
    const node = byId.get(id);
    let stage = 'other';
    if (node) {
      const hit = STAGES.find(([, test]) => test(node.callFrame.functionName, node.callFrame.url));
      if (hit) stage = hit[0];
      else {
        const up = parent.get(id);
        if (up !== undefined) stage = resolve(up);
      }
    }
    stageOf.set(id, stage);
    return stage;
  };
  const out = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const stage = resolve(id);
    out.set(stage, (out.get(stage) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  });
  return out;
}

const dir = process.argv[2];
const bars = Number(process.argv[3]);
if (!dir || !Number.isFinite(bars) || bars <= 0) {
  console.error('usage: tsx bench/bootstrap-profile.ts <cpu-prof directory> <bars stored>');
  process.exit(2);
}
const threads = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .map((f) => {
    const text = readFileSync(join(dir, f), 'utf8');
    return { file: f, text, stages: breakdown(JSON.parse(text) as CpuProfile) };
  });
const main = threads.find((t) => t.text.includes('"runBootstrap"'));
const writer = threads.find((t) => t !== main && t.text.includes('sqliteTransaction'));
if (!main) throw new Error(`no profile in ${dir} ran runBootstrap`);
const busy = (m: Map<string, number>) => [...m].filter(([k]) => k !== 'idle').reduce((s, [, v]) => s + v, 0);
const us = (ms: number) => ((ms * 1000) / bars).toFixed(3);
const rows = [...main.stages].filter(([k]) => k !== 'idle').sort((a, b) => b[1] - a[1]);
console.log(`| main thread stage | ms | us per stored bar |\n| --- | --- | --- |`);
for (const [stage, ms] of rows) console.log(`| ${stage} | ${ms.toFixed(0)} | ${us(ms)} |`);
console.log(`| **main thread busy** | **${busy(main.stages).toFixed(0)}** | **${us(busy(main.stages))}** |`);
if (writer) {
  const w = busy(writer.stages);
  console.log(`| SQLite writer thread busy (inserts, commits, replies) | ${w.toFixed(0)} | ${us(w)} |`);
}
