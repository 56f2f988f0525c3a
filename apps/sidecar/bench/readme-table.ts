// Copies the last benchmark results (bench-results/sidecar.json) into README.md between the
// BENCH-TABLE markers, so every number in the README comes from a benchmark run.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@pipeline/test-utils';

interface Result {
  date: string;
  machine: { cpus: number; node: string };
  rows: {
    case: string;
    unit: string;
    ours: number;
    goal: string | null;
    pass: boolean | null;
    baseline: string | null;
  }[];
}
const res = JSON.parse(readFileSync(join(repoRoot(), 'bench-results', 'sidecar.json'), 'utf8')) as Result;
const lines = [
  `Run ${res.date} on ${res.machine.cpus} CPUs, Node ${res.machine.node}.`,
  '',
  '| case | result | unit | goal | pass |',
  '| --- | --- | --- | --- | --- |',
  ...res.rows.map(
    (r) =>
      `| ${r.case} | ${r.ours} | ${r.unit} | ${r.goal ?? ''} | ${r.pass === null ? '' : r.pass ? 'yes' : 'no'} |`,
  ),
];
const readme = join(repoRoot(), 'apps', 'sidecar', 'README.md');
const text = readFileSync(readme, 'utf8');
const start = '<!-- BENCH-TABLE -->';
const end = '<!-- /BENCH-TABLE -->';
const head = text.slice(0, text.indexOf(start) + start.length);
const tail = text.includes(end)
  ? text.slice(text.indexOf(end))
  : `${end}${text.slice(text.indexOf(start) + start.length)}`;
writeFileSync(readme, `${head}\n${lines.join('\n')}\n${tail}`);
console.log(`README.md: ${res.rows.length} rows from ${res.date}`);
