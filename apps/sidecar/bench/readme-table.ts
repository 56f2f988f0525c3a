// Copies the last benchmark results of the sidecar's bench scripts (bench-results/sidecar.json,
// sidecar-cluster-throughput.json, sidecar-bootstrap.json; each only when present) into README.md
// between the BENCH-TABLE markers, so every number in the README comes from a benchmark run. Runs
// at the end of `pnpm --filter @pipeline/sidecar bench`.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@pipeline/test-utils';

interface Row {
  case: string;
  unit: string;
  ours: number | string;
  goal?: string | null;
  pass?: boolean | string | null;
}
interface Result {
  date?: string;
  machine?: { cpus?: number; node?: string };
  rows?: Row[];
}

/** The result files this README shows, in the order their tables appear. */
const FILES = [
  [
    'sidecar.json',
    'loop, latency, HTTP load, memory, cluster coordination (`bench/sidecar.bench.ts`, `bench/cluster.bench.ts`)',
  ],
  ['sidecar-cluster-throughput.json', 'cluster throughput (`bench/cluster-throughput.bench.ts`)'],
  ['sidecar-bootstrap.json', 'bootstrap (`bench/bootstrap.bench.ts`)'],
] as const;

const dir = join(repoRoot(), 'bench-results');
const passText = (p: Row['pass']) => (p === true ? 'yes' : p === false ? 'no' : '');
const lines: string[] = [];
let shown = 0;
for (const [name, what] of FILES) {
  const file = join(dir, name);
  if (!existsSync(file)) continue;
  const res = JSON.parse(readFileSync(file, 'utf8')) as Result;
  const rows = res.rows ?? [];
  const date = res.date ?? statSync(file).mtime.toISOString();
  const machine = res.machine?.cpus
    ? ` on ${res.machine.cpus} CPUs, Node ${res.machine.node ?? process.version}`
    : '';
  if (lines.length > 0) lines.push('');
  lines.push(
    `**${what}**: run ${date}${machine}.`,
    '',
    '| case | result | unit | goal | pass |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.case} | ${r.ours} | ${r.unit} | ${r.goal ?? ''} | ${passText(r.pass)} |`),
  );
  shown += rows.length;
}
if (lines.length === 0) throw new Error(`no sidecar bench results under ${dir}: run the bench first`);

const readme = join(repoRoot(), 'apps', 'sidecar', 'README.md');
const text = readFileSync(readme, 'utf8');
const start = '<!-- BENCH-TABLE -->';
const end = '<!-- /BENCH-TABLE -->';
const head = text.slice(0, text.indexOf(start) + start.length);
const tail = text.includes(end)
  ? text.slice(text.indexOf(end))
  : `${end}${text.slice(text.indexOf(start) + start.length)}`;
writeFileSync(readme, `${head}\n${lines.join('\n')}\n${tail}`);
console.log(`README.md: ${shown} rows from ${FILES.length} result files`);
