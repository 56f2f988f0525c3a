#!/usr/bin/env node
// `pnpm bench`: runs every workspace package's `bench` script, one after another (each in its own
// process, so they do not disturb each other), then prints one table of all results and writes
// bench-results/summary.json and bench-results/summary.md (the table the README shows).
// `pnpm bench <name> ...` runs only the named packages (e.g. `pnpm bench features sqlite-store`).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { root, run } from './lib.mjs';

const only = process.argv.slice(2);
const dirs = ['packages', 'apps'].flatMap((group) =>
  readdirSync(join(root, group)).map((d) => join(root, group, d)),
);
const outDir = join(root, 'bench-results');
mkdirSync(outDir, { recursive: true });

const ran = [];
const failed = [];
for (const dir of dirs) {
  const pkgFile = join(dir, 'package.json');
  if (!existsSync(pkgFile)) continue;
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  const short = pkg.name.replace('@pipeline/', '');
  if (!pkg.scripts?.bench || (only.length && !only.includes(short))) continue;
  console.log(`\n=== bench ${pkg.name} ===`);
  try {
    run('pnpm', ['run', 'bench'], { cwd: dir });
    ran.push(short);
  } catch (err) {
    failed.push(`${pkg.name}: ${err.message}`);
  }
}

const fmt = (v) =>
  v === null || v === undefined
    ? ''
    : typeof v === 'number'
      ? Math.abs(v) >= 100
        ? v.toFixed(0)
        : v.toPrecision(3)
      : String(v);
const rows = [];
for (const short of ran) {
  const file = join(outDir, `${short}.json`);
  if (!existsSync(file)) continue;
  const res = JSON.parse(readFileSync(file, 'utf8'));
  for (const r of res.rows) rows.push({ package: res.package, ...r });
}
const header = ['package', 'case', 'ratio', 'ours', 'unit', 'baseline', 'baselineValue', 'goal', 'pass'];
const lines = [
  `| ${header.join(' | ')} |`,
  `| ${header.map(() => '---').join(' | ')} |`,
  ...rows.map(
    (r) =>
      `| ${header.map((h) => fmt(h === 'pass' ? (r.pass === null || r.pass === undefined ? '' : r.pass ? 'yes' : 'NO') : r[h])).join(' | ')} |`,
  ),
];
const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  node: process.version,
  date: new Date().toISOString(),
};
writeFileSync(join(outDir, 'summary.json'), JSON.stringify({ machine, rows, failed }, null, 2));
writeFileSync(
  join(outDir, 'summary.md'),
  `Measured ${machine.date} on ${machine.cpus} x ${machine.cpuModel}, Node ${machine.node}.\n\n${lines.join('\n')}\n`,
);
console.log(`\n${lines.join('\n')}\n`);
console.log(`wrote bench-results/summary.json and bench-results/summary.md`);
if (failed.length) {
  console.error(`failed:\n${failed.join('\n')}`);
  process.exit(1);
}
