#!/usr/bin/env node
// `pnpm bench`: runs every workspace package's `bench` script, one after another (each in its own
// process, so they do not disturb each other), then reads every result file the scripts wrote under
// bench-results/ and
//   - prints the issue-16 goals, each figure beside its goal ("not run" where no result holds it),
//   - prints one table of all result rows,
//   - writes bench-results/summary.json and bench-results/summary.md,
//   - rewrites the README's benchmark table (between <!-- bench-table --> and <!-- /bench-table -->).
// `pnpm bench <name> ...` runs only the named packages (e.g. `pnpm bench features sqlite-store`); the
// summary still covers the last results of the others. `pnpm bench --report` runs nothing and only
// rebuilds the summary and the README table from the result files already there.
//
// Result files are read tolerantly: a script that is being changed may rename rows or fields, and
// a figure that cannot be found is reported as "not run", never as a failure of this script.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { root, run } from './lib.mjs';

const args = process.argv.slice(2);
const reportOnly = args.includes('--report');
const only = args.filter((a) => !a.startsWith('--'));
const outDir = join(root, 'bench-results');
mkdirSync(outDir, { recursive: true });

// ---------------------------------------------------------------------------------------- run

const failed = [];
if (!reportOnly) {
  const dirs = ['packages', 'apps'].flatMap((group) =>
    readdirSync(join(root, group)).map((d) => join(root, group, d)),
  );
  for (const dir of dirs) {
    const pkgFile = join(dir, 'package.json');
    if (!existsSync(pkgFile)) continue;
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
    const short = pkg.name.replace('@pipeline/', '');
    if (!pkg.scripts?.bench || (only.length && !only.includes(short))) continue;
    console.log(`\n=== bench ${pkg.name} ===`);
    try {
      run('pnpm', ['run', 'bench'], { cwd: dir });
    } catch (err) {
      failed.push(`${pkg.name}: ${err.message}`);
    }
  }
}

// ---------------------------------------------------------------------------------------- read

/** Every JSON result file under bench-results/ (not our own summary), parsed; unreadable ones skipped. */
function readResults() {
  const out = new Map();
  for (const name of readdirSync(outDir).sort()) {
    if (!name.endsWith('.json') || name === 'summary.json') continue;
    try {
      out.set(name.replace(/\.json$/, ''), JSON.parse(readFileSync(join(outDir, name), 'utf8')));
    } catch {
      console.warn(`bench-results/${name}: not valid JSON, skipped`);
    }
  }
  return out;
}
const results = readResults();

/** The rows of a result file (`rows` of objects with a string `case`), or []. */
function rowsOf(result) {
  return Array.isArray(result?.rows)
    ? result.rows.filter((r) => r && typeof r === 'object' && typeof r.case === 'string')
    : [];
}

/** The first row of the named result files whose case matches every pattern. */
function findRow(files, ...patterns) {
  for (const file of files) {
    const row = rowsOf(results.get(file)).find((r) => patterns.every((p) => p.test(r.case)));
    if (row && typeof row.ours === 'number') return { row, file };
  }
  return null;
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const dateOf = (file) => {
  const d = results.get(file)?.date;
  return typeof d === 'string' ? d.slice(0, 16).replace('T', ' ') : '';
};
const sidecarFiles = () => [...results.keys()].filter((k) => k.startsWith('sidecar'));

// ---------------------------------------------------------------------------------------- issue 16

/**
 * The figures issue 16 asks for. `find` returns { value, unit, file, note? } or null; `ok(value)`
 * judges it against the issue's goal (the scripts' own `goal`/`pass` may predate the issue).
 */
const ISSUE16 = [
  {
    figure: 'cycle CPU per symbol per cycle, 20,000 symbols',
    goal: '<= 10 us',
    ok: (v) => v <= 10,
    find() {
      // bench/profile.ts writes sidecar-profile.json: { results: [{ symbols, cpuUsPerSymbolCycle }] }.
      const prof = results.get('sidecar-profile');
      const r = Array.isArray(prof?.results) ? prof.results.find((x) => x?.symbols === 20_000) : null;
      if (num(r?.cpuUsPerSymbolCycle) !== null)
        return { value: r.cpuUsPerSymbolCycle, unit: 'us', file: 'sidecar-profile' };
      const hit = findRow(sidecarFiles(), /CPU/i, /per symbol/i, /20,?000/);
      return hit && { value: hit.row.ours, unit: hit.row.unit, file: hit.file };
    },
  },
  ...[100, 1000].map((n) => ({
    figure: `provider answer -> signal readable over HTTP, p99, ${n.toLocaleString('en-US')} symbols`,
    goal: '< 2 ms',
    ok: (v) => v < 2,
    find() {
      const hit = findRow(
        sidecarFiles(),
        /provider answer/i,
        /HTTP/i,
        new RegExp(`\\b${n} symbols\\b`),
        /p99/i,
      );
      return hit && { value: hit.row.ours, unit: hit.row.unit, file: hit.file };
    },
  })),
  {
    figure: 'GC pause inside the cycle (longest)',
    goal: '< 1 ms',
    ok: (v) => v < 1,
    find() {
      // At the issue's two sizes, the first "GC pause ... max" row of each (the freshest: the sidecar
      // bench puts a partial run's rows before the ones it keeps), and the longer of the two.
      const hits = [100, 1000]
        .map((n) =>
          findRow(sidecarFiles(), /\bGC\b|garbage/i, /pause/i, /max/i, new RegExp(`\\b${n} symbols\\b`)),
        )
        .filter((h) => h !== null);
      if (hits.length === 0) return null;
      const worst = hits.reduce((a, b) => (b.row.ours > a.row.ours ? b : a));
      return {
        value: worst.row.ours,
        unit: worst.row.unit,
        file: worst.file,
        note: hits.map((h) => `${h.row.case}: ${fmt(h.row.ours)} ${h.row.unit}`).join('; '),
      };
    },
  },
  {
    figure: 'bootstrap end to end (fetch, validate, store, warm), 2,000 symbols x 4 days of 1m',
    goal: '>= 400,000 bars/s',
    ok: (v) => v >= 400_000,
    find() {
      const b = results.get('sidecar-bootstrap');
      const f = b?.figures;
      if (num(f?.barsPerSecond) === null) return null;
      const cfg = b.config ?? {};
      const note = [
        cfg.symbols !== 2000 || cfg.days !== 4 ? `run at ${cfg.symbols} symbols x ${cfg.days} days` : '',
        num(f.cpuBoundBarsPerSecond) !== null
          ? `${fmt(f.cpuBoundBarsPerSecond)} bars/s bound by the busiest thread's CPU`
          : '',
        num(b.machine?.loadEnd) !== null ? `load ${b.machine.loadEnd}` : '',
      ]
        .filter(Boolean)
        .join('; ');
      return { value: f.barsPerSecond, unit: 'bars/s', file: 'sidecar-bootstrap', note };
    },
  },
  {
    figure: 'bootstrap: longest event-loop block',
    goal: '<= 50 ms',
    ok: (v) => v <= 50,
    find() {
      const f = results.get('sidecar-bootstrap')?.figures;
      if (num(f?.maxLoopBlockMs) === null) return null;
      const note = num(f.maxHealthMs) !== null ? `longest GET /health meanwhile ${f.maxHealthMs} ms` : '';
      return { value: f.maxLoopBlockMs, unit: 'ms', file: 'sidecar-bootstrap', note };
    },
  },
  {
    figure: 'in-process cache: heap per cached bar, 2,000 x 5,000',
    goal: '<= 64 B',
    ok: (v) => v <= 64,
    find() {
      const hit = findRow(['redis-kb'], /in-process/i, /per cached bar/i);
      return hit && { value: hit.row.ours, unit: hit.row.unit, file: hit.file };
    },
  },
  {
    figure: 'in-process cache: resident memory, 2,000 x 5,000',
    goal: 'printed',
    ok: null,
    find() {
      const hit = findRow(['redis-kb'], /in-process/i, /resident/i);
      return hit && { value: hit.row.ours, unit: hit.row.unit, file: hit.file };
    },
  },
  ...['ADX', 'VWAP'].map((ind) => ({
    figure: `features batch ${ind}: speed vs fastest JS batch library`,
    goal: '>= 1x',
    ok: (v) => v >= 1,
    find() {
      const hit = findRow(['features'], new RegExp(`^batch ${ind}\\b`), /fastest JS/i);
      return hit && { value: hit.row.ours, unit: 'x', file: hit.file, note: hit.row.baseline ?? undefined };
    },
  })),
  {
    figure: 'features batch: slowest indicator / TA-Lib C core, per bar',
    goal: '<= 1.5x',
    ok: (v) => v <= 1.5,
    find() {
      const rows = rowsOf(results.get('features')).filter(
        (r) => /^batch /.test(r.case) && /TA-Lib C/.test(r.case) && num(r.ours) !== null,
      );
      if (rows.length === 0) return null;
      const worst = rows.reduce((a, b) => (b.ours > a.ours ? b : a));
      const within = rows.filter((r) => r.ours <= 1.5).length;
      const note = `${worst.case.replace(/ \/ TA-Lib C$/, '')}; ${within} of ${rows.length} within 1.5x`;
      return { value: worst.ours, unit: 'x', file: 'features', note };
    },
  },
];

function fmt(v) {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'number') return String(v);
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return String(Number(v.toPrecision(3)));
}

const issue16 = ISSUE16.map((spec) => {
  let found = null;
  try {
    found = spec.find();
  } catch {
    found = null; // a result file in an unexpected shape: not run, as far as this summary can tell
  }
  if (!found)
    return { figure: spec.figure, goal: spec.goal, value: null, unit: '', met: null, source: '', note: '' };
  return {
    figure: spec.figure,
    goal: spec.goal,
    value: found.value,
    unit: found.unit ?? '',
    met: spec.ok ? spec.ok(found.value) : null,
    source: `${found.file}.json ${dateOf(found.file)}`.trim(),
    note: found.note ?? '',
  };
});

const metText = (m) => (m === null ? '' : m ? 'yes' : '**no**');
const issue16Lines = [
  '| issue 16 figure | ours | goal | met | from | note |',
  '| --- | --- | --- | --- | --- | --- |',
  ...issue16.map(
    (f) =>
      `| ${f.figure} | ${f.value === null ? 'not run' : `${fmt(f.value)} ${f.unit}`.trim()} | ${f.goal} | ${metText(f.met)} | ${f.source} | ${f.note.replace(/\|/g, '/')} |`,
  ),
];

// ---------------------------------------------------------------------------------------- all rows

const allRows = [];
for (const [file, res] of results) {
  for (const r of rowsOf(res))
    allRows.push({ result: file, package: String(res.package ?? file).replace('@pipeline/', ''), ...r });
}
const cell = (v) => fmt(v).replace(/\|/g, '/');
const header = ['result', 'case', 'ratio', 'ours', 'unit', 'baseline', 'baselineValue', 'goal', 'pass'];
const allLines = [
  `| ${header.join(' | ')} |`,
  `| ${header.map(() => '---').join(' | ')} |`,
  ...allRows.map(
    (r) =>
      `| ${header.map((h) => (h === 'pass' ? (r.pass === null || r.pass === undefined ? '' : r.pass ? 'yes' : 'NO') : cell(r[h]))).join(' | ')} |`,
  ),
];
const goalRows = allRows.filter((r) => r.goal !== null && r.goal !== undefined && r.goal !== '');
const goalLines = [
  '| result | case | ours | unit | baseline (same run) | ratio | goal | met |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...goalRows.map(
    (r) =>
      `| ${r.result} | ${cell(r.case)} | ${cell(r.ours)} | ${cell(r.unit)} | ${
        r.baseline
          ? `${cell(r.baseline)}${r.baselineValue !== null && r.baselineValue !== undefined ? `: ${cell(r.baselineValue)}` : ''}`
          : ''
      } | ${cell(r.ratio)} | ${cell(r.goal)} | ${metText(r.pass ?? null)} |`,
  ),
];

// ---------------------------------------------------------------------------------------- write

const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  node: process.version,
  date: new Date().toISOString(),
  loadavg1m: Number(os.loadavg()[0].toFixed(2)),
};
const dates = [...results.keys()]
  .filter((f) => dateOf(f))
  .map((f) => `${f} ${dateOf(f)}`)
  .join(', ');
writeFileSync(
  join(outDir, 'summary.json'),
  JSON.stringify({ machine, issue16, rows: allRows, failed }, null, 2),
);
writeFileSync(
  join(outDir, 'summary.md'),
  `Summary written ${machine.date} on ${machine.cpus} x ${machine.cpuModel}, Node ${machine.node}; results from ${dates}.\n\n` +
    `## Issue 16 goals\n\n${issue16Lines.join('\n')}\n\n## All rows\n\n${allLines.join('\n')}\n`,
);

// The README's table: regenerated here, never edited by hand (prose about the figures goes after the end marker).
const readmePath = join(root, 'README.md');
const START = '<!-- bench-table -->';
const END = '<!-- /bench-table -->';
const readme = readFileSync(readmePath, 'utf8');
if (readme.includes(START) && readme.includes(END)) {
  // bench-results/ is not committed: the rows of a result file that is not here (first column: the
  // file's name) and an issue-16 figure no file holds are kept from the table being replaced, so a
  // partial run does not erase the others' figures. A file that is here replaces all its rows.
  const oldBlock = readme.slice(readme.indexOf(START), readme.indexOf(END));
  const firstCell = (line) => line.split('|')[1]?.trim() ?? '';
  const fresh = new Set(allRows.map((r) => r.result));
  const keptGoalLines = oldBlock
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('| ') &&
        !['package', 'result', 'issue 16 figure', '---'].includes(firstCell(l)) &&
        !ISSUE16.some((f) => f.figure === firstCell(l)) &&
        !fresh.has(firstCell(l)),
    );
  const keptPackages = [...new Set(keptGoalLines.map(firstCell))];
  const oldIssue16 = new Map(
    oldBlock
      .split('\n')
      .filter((l) => ISSUE16.some((f) => f.figure === firstCell(l)))
      .map((l) => [firstCell(l), l]),
  );
  const readmeIssue16 = issue16Lines.map((line, i) => {
    const f = issue16[i - 2];
    return f && f.value === null && oldIssue16.has(f.figure) ? oldIssue16.get(f.figure) : line;
  });
  const block = [
    START,
    `Generated by \`pnpm bench\` (tooling/bench.mjs; \`pnpm bench --report\` rebuilds it from bench-results/ without running) on ${machine.cpus} cores, Node ${machine.node}. Results dated: ${dates || 'none'}${
      keptPackages.length
        ? `; rows of ${keptPackages.join(', ')} kept from the previous table (no result file in this run)`
        : ''
    }. Repeat runs vary 10-30 %; the machine is shared, so the scripts record the load average. The full table is in \`bench-results/summary.md\`.`,
    '',
    '### Issue 16 goals',
    '',
    ...readmeIssue16,
    '',
    '### Rows with a goal',
    '',
    ...goalLines,
    ...keptGoalLines,
    END,
  ].join('\n');
  const next =
    readme.slice(0, readme.indexOf(START)) + block + readme.slice(readme.indexOf(END) + END.length);
  if (next !== readme) writeFileSync(readmePath, next);
  console.log('README.md: benchmark table regenerated');
}

console.log(`\nIssue 16 goals:\n\n${issue16Lines.join('\n')}\n`);
console.log(`${allLines.join('\n')}\n`);
console.log('wrote bench-results/summary.json and bench-results/summary.md');
if (failed.length) {
  console.error(`failed:\n${failed.join('\n')}`);
  process.exit(1);
}
