#!/usr/bin/env node
// Proves the release flow end to end: starts a private npm registry (verdaccio) on 127.0.0.1,
// publishes every package to it with pnpm (workspace:^ ranges become real versions), then
//  1. installs them all into one scratch project with npm and loads each with `import` and `require`,
//     and requires each with require(esm) disabled to prove its `engines.node` (>=20 or >=20.19);
//  2. for EACH package, installs only that package (its README's install line) into its own scratch
//     project with strict pnpm and runs its README quick start as ESM TypeScript and as CommonJS, or,
//     for a package with a `bin` whose quick start is a shell block, with bash and the bin on PATH
//     (tooling/quickstart.mjs), against the real Redis (own key prefix) and PostgreSQL (own database).
// "Every package" is every non-private package under packages/ and apps/ (tooling/lib.mjs).
// Run after `pnpm build`. Options (flags or environment):
//   --only validator,features   (RELEASE_VERIFY_PACKAGES) check these packages only; their workspace
//                               dependencies are published too. Short or full names.
//   --build                     build the published packages first (turbo, cached).
//   --keep                      (RELEASE_VERIFY_KEEP=1) keep the scratch folder and print its path.
//   RELEASE_VERIFY_JOBS=2       packages checked at once; QUICKSTART_TIMEOUT=60 seconds per run.
//   VERDACCIO_VERSION           another registry version.
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { capture, hasLibraryEntry, publishablePackages, root, run } from './lib.mjs';
import { packageMeta } from './package-meta.mjs';
import {
  exec,
  firstLines,
  pool,
  provideNativeAddon,
  redisScope,
  section,
  verifyQuickStart,
} from './quickstart.mjs';

const argv = process.argv.slice(2);
const flag = (name) => {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return argv[i].includes('=') ? argv[i].split('=').slice(1).join('=') : (argv[i + 1] ?? '');
};
const onlyArg = flag('--only') ?? process.env.RELEASE_VERIFY_PACKAGES;
const keep = argv.includes('--keep') || process.env.RELEASE_VERIFY_KEEP === '1';
const jobs = Number(process.env.RELEASE_VERIFY_JOBS ?? '2');
const quickStartTimeoutMs = Number(process.env.QUICKSTART_TIMEOUT ?? '60') * 1000;
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

// Which packages: the selected ones are checked; they and their workspace dependencies are published.
const all = publishablePackages();
const full = (n) => (n.startsWith('@') ? n : `@pipeline/${n}`);
const only = onlyArg
  ?.split(',')
  .map((n) => full(n.trim()))
  .filter((n) => n !== '@pipeline/');
if (only) {
  const unknown = only.filter((n) => !all.some((p) => p.name === n));
  if (unknown.length) {
    console.error(`unknown package(s): ${unknown.join(', ')}; known: ${all.map((p) => p.name).join(', ')}`);
    process.exit(2);
  }
}
const checked = all.filter((p) => !only || only.includes(p.name));
const toPublish = new Set();
const addWithDeps = (name) => {
  if (toPublish.has(name)) return;
  toPublish.add(name);
  const p = all.find((x) => x.name === name);
  for (const dep of Object.keys({ ...p.pkg.dependencies, ...p.pkg.peerDependencies })) {
    if (all.some((x) => x.name === dep)) addWithDeps(dep);
  }
};
for (const p of checked) addWithDeps(p.name);
const packages = all.filter((p) => toPublish.has(p.name));

// --build: build what is published first (turbo: cached packages are not rebuilt).
if (argv.includes('--build')) {
  run(
    'pnpm',
    [
      'exec',
      'turbo',
      'run',
      'build',
      '--output-logs=errors-only',
      ...packages.map((p) => `--filter=${p.name}`),
    ],
    {
      cwd: root,
    },
  );
}

// The check's own rules first (README extraction, CommonJS twin, Redis scope): a few seconds.
run('node', ['--test', '--test-reporter=dot', join(root, 'tooling', 'quickstart.test.mjs')]);

const VERDACCIO = `verdaccio@${process.env.VERDACCIO_VERSION ?? '6.8.0'}`; // last line that runs on Node 20
const work = mkdtempSync(join(tmpdir(), 'pipeline-release-'));
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
const port = await freePort();
const registry = `http://127.0.0.1:${port}/`;

writeFileSync(
  join(work, 'config.yaml'),
  `storage: ${join(work, 'storage')}
auth:
  htpasswd:
    file: ${join(work, 'htpasswd')}
uplinks:
  npmjs:
    url: https://registry.npmjs.org/
packages:
  '@pipeline/*':
    access: $all
    publish: $authenticated
  '**':
    access: $all
    proxy: npmjs
log: { type: stdout, format: pretty, level: error }
`,
);

// Installed outside the workspace rather than into it: the registry is a tool of this check, not a
// dependency of any package. Kept between runs in a cache folder (RELEASE_VERIFY_CACHE, default
// ~/.cache/pipeline-release-verify) so that only the first run on a machine pays for the install.
// One of its dependencies asks for the `cjs` dist-tag of node-fetch, which some registry mirrors
// lack; node-fetch 2.7.0 is what that tag points at.
const cacheDir = process.env.RELEASE_VERIFY_CACHE ?? join(homedir(), '.cache', 'pipeline-release-verify');
const toolDir = join(cacheDir, VERDACCIO);
if (!existsSync(join(toolDir, 'node_modules', '.bin', 'verdaccio'))) {
  mkdirSync(toolDir, { recursive: true });
  writeFileSync(
    join(toolDir, 'package.json'),
    JSON.stringify({
      name: 'registry-tool',
      private: true,
      dependencies: { verdaccio: VERDACCIO.split('@')[1] },
      overrides: { 'node-fetch': '2.7.0' },
    }),
  );
  console.log(`installing ${VERDACCIO} into ${toolDir}`);
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: toolDir });
}
console.log(`starting ${VERDACCIO} on ${registry}`);
const server = spawn(
  join(toolDir, 'node_modules', '.bin', 'verdaccio'),
  ['--config', join(work, 'config.yaml'), '--listen', `127.0.0.1:${port}`],
  {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
    detached: true,
  },
);
const stop = () => {
  try {
    process.kill(-server.pid, 'SIGTERM');
  } catch {
    // already gone
  }
};
process.on('exit', stop);
/** Services this check started besides the registry (the sidecar): stopped at the end, by pid. */
const stopAtEnd = [];
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    stop();
    process.exit(130);
  });
}

/** Bare specifiers that the CommonJS files of an installed package require() and that resolve to ES modules. */
function esmRequires(pkgDir) {
  const found = new Set();
  const req = createRequire(join(pkgDir, 'package.json'));
  const isEsm = (file) => {
    if (file.endsWith('.mjs')) return true;
    if (file.endsWith('.cjs') || !file.endsWith('.js')) return false;
    for (let d = dirname(file); d !== dirname(d); d = dirname(d)) {
      const pj = join(d, 'package.json');
      if (existsSync(pj)) return JSON.parse(readFileSync(pj, 'utf8')).type === 'module';
    }
    return false;
  };
  const dist = join(pkgDir, 'dist');
  const files = existsSync(dist)
    ? readdirSync(dist, { recursive: true }).filter((f) => f.endsWith('.cjs'))
    : [];
  for (const f of files) {
    const code = readFileSync(join(dist, f), 'utf8');
    for (const m of code.matchAll(/\brequire\(\s*["']([^"'./][^"']*)["']\s*\)/g)) {
      const spec = m[1];
      if (spec.startsWith('node:') || isBuiltin(spec)) continue;
      try {
        if (isEsm(req.resolve(spec))) found.add(spec);
      } catch {
        // not resolvable from here (an optional peer): the runtime require reports real failures
      }
    }
  }
  return [...found].sort();
}

try {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      if ((await fetch(`${registry}-/ping`)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('verdaccio did not start within 180 s');
    await new Promise((r) => setTimeout(r, 500));
  }

  // A throwaway user for this registry; a team's internal registry gives a token the same way.
  const res = await fetch(`${registry}-/user/org.couchdb.user:release`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'release', password: 'release-verify-only' }),
  });
  const { token } = await res.json();
  if (!token) throw new Error(`could not create a registry user: HTTP ${res.status}`);
  const npmrc = join(work, '.npmrc');
  writeFileSync(npmrc, `registry=${registry}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
  const env = { ...process.env, npm_config_userconfig: npmrc, npm_config_registry: registry };
  // Installs read anonymously (as a consumer does): with the token, verdaccio re-checks the password
  // hash on every request, about 0.2 s each.
  const readNpmrc = join(work, 'read.npmrc');
  writeFileSync(readNpmrc, `registry=${registry}\n`);
  const readEnv = { ...process.env, npm_config_userconfig: readNpmrc, npm_config_registry: registry };

  console.log(`publishing ${packages.map((p) => p.name).join(', ')} (+${elapsed()})`);
  const published = await pool(packages, jobs, ({ dir }) =>
    exec('pnpm', ['publish', '--registry', registry, '--no-git-checks', '--access', 'public'], {
      cwd: dir,
      env,
      timeoutMs: 180_000,
    }),
  );
  published.forEach((r, i) => {
    if (r.code !== 0) throw new Error(`publishing ${packages[i].name} failed:\n${r.out}`);
  });

  // 1. Every package into one npm project: load through import and require, and the engines proof.
  const rows = new Map(checked.map((p) => [p.name, { name: p.name, version: p.pkg.version }]));
  const consumer = join(work, 'consumer');
  mkdirSync(consumer, { recursive: true });
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }),
  );
  console.log(`installing ${checked.length} package(s) with npm into one scratch project (+${elapsed()})`);
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--loglevel=error',
      ...checked.map((p) => p.name),
    ],
    { cwd: consumer, env: readEnv },
  );
  await provideNativeAddon(consumer, readEnv);

  const load = (name, args) =>
    new Promise((resolve) => {
      const child = spawn('node', args, { cwd: consumer, env: { ...process.env, PKG: name } });
      const res = { stdout: '', stderr: '', status: null };
      child.stdout.on('data', (d) => (res.stdout += d));
      child.stderr.on('data', (d) => (res.stderr += d));
      child.on('close', (code) => resolve({ ...res, status: code }));
    });
  const keysOf = (res) => (res.status === 0 ? res.stdout.trim() : null);
  await pool(checked, jobs, async ({ name, pkg, dir }) => {
    const row = rows.get(name);
    if (!hasLibraryEntry(pkg)) {
      // A bin-only package: nothing to import or require; its bin runs in its shell quick start.
      row.load = row.engines = { ok: true, na: true, detail: 'bin-only package' };
      return;
    }
    const [viaRequire, viaImport, old] = await Promise.all([
      load(name, [
        '-e',
        'const k=Object.keys(require(process.env.PKG)).sort(); if(!k.length) throw new Error("no exports"); console.log(k.join())',
      ]),
      load(name, [
        '--input-type=module',
        '-e',
        'const k=Object.keys(await import(process.env.PKG)).filter((x)=>x!=="default").sort(); if(!k.length) throw new Error("no exports"); console.log(k.join())',
      ]),
      load(name, ['--no-experimental-require-module', '-e', 'require(process.env.PKG)']),
    ]);
    const r = keysOf(viaRequire);
    const i = keysOf(viaImport);
    row.load =
      r && i && r === i
        ? { ok: true, detail: `${r.split(',').length} exports via import and require` }
        : {
            ok: false,
            detail: !r
              ? `require: ${firstLines(viaRequire.stderr, 3)}`
              : !i
                ? `import: ${firstLines(viaImport.stderr, 3)}`
                : 'different exports via import and require',
          };
    // engines: a package whose CommonJS build require()s an ES module needs Node >= 20.19 (where
    // require(esm) is on by default). Node 20.20 with --no-experimental-require-module behaves like
    // Node 20.0-20.18 here, so the require either works there (>=20 is true) or not (>=20.19 is).
    // The same question asked of the code: a require() anywhere in the CommonJS build (subpaths and
    // lazy requires included) that resolves to an ES module.
    const esm = esmRequires(join(consumer, 'node_modules', ...name.split('/')));
    const needs =
      old.status === 0 && !esm.length
        ? '>=20'
        : old.status === 0 || /ERR_REQUIRE_ESM/.test(old.stderr)
          ? '>=20.19'
          : null;
    const declared = pkg.engines?.node ?? '(none)';
    const readme = existsSync(join(dir, 'README.md')) ? readFileSync(join(dir, 'README.md'), 'utf8') : '';
    // The whole "Compatibility" section (up to the next heading of its level), not its first line.
    const compat = section(readme, /^compatibility\b/i) ?? '';
    const stated = /Node(?:\.js)?\s*(>=|≥)\s*(\d+(?:\.\d+)*)/i.exec(compat);
    const statedRange = stated ? `>=${stated[2]}` : null;
    if (!r) row.engines = { ok: false, detail: 'require fails on this Node too' };
    else if (!needs)
      row.engines = { ok: false, detail: `require without require(esm): ${firstLines(old.stderr, 2)}` };
    else if (declared !== needs)
      row.engines = {
        ok: false,
        detail: `needs ${needs}${esm.length ? ` (require of ES modules: ${esm.join(', ')})` : ''}, package.json declares ${declared}`,
      };
    else if (statedRange !== needs)
      row.engines = {
        ok: false,
        detail: `needs ${needs}; README "Compatibility" says ${stated ? stated[0] : 'no "Node >= x" line'}`,
      };
    else
      row.engines = {
        ok: true,
        detail: `${needs}${esm.length ? ` (require of ES modules: ${esm.join(', ')})` : ''}`,
      };
  });
  // One real use through each module system, not just a load.
  if (checked.some((p) => p.name === '@pipeline/core')) {
    capture(
      'node',
      [
        '-e',
        "const c=require('@pipeline/core'); if (c.alignTs(90061000,'1m')!==90060000) throw new Error('cjs')",
      ],
      { cwd: consumer },
    );
    capture(
      'node',
      [
        '--input-type=module',
        '-e',
        "import {alignTs} from '@pipeline/core'; if (alignTs(90061000,'1h')!==90000000) throw new Error('esm')",
      ],
      { cwd: consumer },
    );
  }

  // 2. Each package alone, strict pnpm, its README quick start as ESM TypeScript and as CommonJS.
  console.log(
    `running the README quick starts, ${Math.min(jobs, checked.length)} package(s) at a time (+${elapsed()})`,
  );
  const versions = {
    typescript: JSON.parse(readFileSync(join(root, 'node_modules', 'typescript', 'package.json'), 'utf8'))
      .version,
    typesNode: '^20.19.0',
  };
  // A quick start of a client of the sidecar (its README reads SIDECAR_URL) needs a sidecar to talk to:
  // the workspace's own build (apps/sidecar/dist, private, so not published) is started once, offline
  // (SOURCES=synthetic, in-process cache, a SQLite file in the scratch folder, 7 days of bootstrap) on a
  // free port, and every run gets its URL as SIDECAR_URL. Stopped (SIGTERM, by pid) at the end.
  const readmeOf = (p) =>
    existsSync(join(p.dir, 'README.md')) ? readFileSync(join(p.dir, 'README.md'), 'utf8') : '';
  let sidecarUrl = null;
  let sidecarProblem = null;
  if (checked.some((p) => /SIDECAR_URL/.test(readmeOf(p)))) {
    const main = join(root, 'apps', 'sidecar', 'dist', 'main.js');
    if (!existsSync(main)) {
      sidecarProblem = 'apps/sidecar/dist/main.js missing: run pnpm build';
    } else {
      const sidecarPort = await freePort();
      const sidecarEnv = { ...process.env };
      for (const k of ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'HISTORY_URL', 'CLUSTER_NAME', 'API_TOKEN']) {
        delete sidecarEnv[k];
      }
      Object.assign(sidecarEnv, {
        SOURCES: 'synthetic',
        HOST: '127.0.0.1',
        PORT: String(sidecarPort),
        SQLITE_PATH: join(work, 'sidecar', 'pipeline.db'),
        BOOTSTRAP_DAYS: '7',
        LOG_LEVEL: 'warn',
      });
      mkdirSync(join(work, 'sidecar'), { recursive: true });
      let sidecarLog = '';
      const sidecar = spawn('node', [main], { cwd: join(work, 'sidecar'), env: sidecarEnv, detached: true });
      sidecar.stdout.on('data', (d) => (sidecarLog += d));
      sidecar.stderr.on('data', (d) => (sidecarLog += d));
      const stopSidecar = () => {
        try {
          process.kill(-sidecar.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      };
      process.on('exit', stopSidecar);
      stopAtEnd.push(stopSidecar);
      const url = `http://127.0.0.1:${sidecarPort}`;
      const until = Date.now() + 120_000;
      while (!sidecarUrl && !sidecarProblem) {
        try {
          if ((await fetch(`${url}/health/ready`)).status === 200) sidecarUrl = url;
        } catch {
          // not listening yet
        }
        if (sidecar.exitCode !== null)
          sidecarProblem = `sidecar exited ${sidecar.exitCode}: ${firstLines(sidecarLog)}`;
        else if (Date.now() > until)
          sidecarProblem = `sidecar not ready within 120 s: ${firstLines(sidecarLog)}`;
        else if (!sidecarUrl) await new Promise((r) => setTimeout(r, 500));
      }
      console.log(
        sidecarUrl
          ? `sidecar (workspace build, SOURCES=synthetic) ready at ${url} (+${elapsed()})`
          : `sidecar: ${sidecarProblem}`,
      );
    }
  }
  const pgUp =
    spawnSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-Atc', 'select 1'], { encoding: 'utf8' })
      .status === 0;
  // Redis: each job at a time has a logical database of the machine's Redis to itself (15, 14, ...),
  // so that keys a quick start writes outside its REDIS_KEY_PREFIX are seen (and removed) precisely.
  const redisUp = redisScope({ db: 15, prefix: 'release-verify:' }).up();
  const freeDbs = Array.from({ length: jobs }, (_, i) => 15 - i);
  const results = await pool(checked, jobs, async (pkg) => {
    const id = `${pkg.name.replace(/^@pipeline\//, '').replace(/[^a-z0-9]/g, '_')}_${process.pid}`;
    const db = freeDbs.pop();
    const prefix = `release-verify:${id}:`;
    const services = {
      timeoutMs: quickStartTimeoutMs,
      env: {
        REDIS_URL: `redis://127.0.0.1:6379/${db}`,
        REDIS_KEY_PREFIX: prefix,
        REDIS_PREFIX: prefix,
        ...(sidecarUrl ? { SIDECAR_URL: sidecarUrl } : {}),
      },
    };
    const readme = existsSync(join(pkg.dir, 'README.md'))
      ? readFileSync(join(pkg.dir, 'README.md'), 'utf8')
      : '';
    const database =
      /postgres|DATABASE_URL|HISTORY_URL|pg-store/i.test(readme) && pgUp ? `release_verify_${id}` : null;
    if (database) {
      const made = spawnSync('createdb', ['-h', '127.0.0.1', '-U', 'postgres', database], {
        encoding: 'utf8',
      });
      if (made.status !== 0)
        console.error(`  ${pkg.name}: createdb ${database} failed: ${made.stderr.trim()}`);
      services.env.DATABASE_URL = `postgres://postgres@127.0.0.1:5432/${database}`;
      services.env.HISTORY_URL = services.env.DATABASE_URL;
    }
    const scope = redisScope({ db, prefix });
    if (redisUp) scope.start();
    let res;
    try {
      const t0 = Date.now();
      res = await verifyQuickStart({ pkg, work, registry, env: readEnv, versions, services });
      if (sidecarProblem && /SIDECAR_URL/.test(readme)) {
        for (const form of ['esm', 'cjs', 'sh']) {
          if (res[form] && !res[form].ok) res[form].detail += `\n(no sidecar to talk to: ${sidecarProblem})`;
        }
      }
      const mark = (s) => (s?.ok ? 'pass' : 'FAIL');
      console.log(
        `  ${pkg.name}: install ${mark(res.install)}, ${res.kind === 'sh' ? `sh ${mark(res.sh)}` : `esm ${mark(res.esm)}, cjs ${mark(res.cjs)}`} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
      );
      return res;
    } finally {
      if (redisUp) {
        const { added, stray } = scope.finish();
        if (stray.length && res) {
          res.redis = {
            ok: false,
            detail: `wrote ${stray.length} key(s) outside REDIS_KEY_PREFIX (${prefix}): ${stray.slice(0, 3).join(', ')}`,
          };
        } else if (res && added.length) {
          res.redis = { ok: true, detail: `${added.length} key(s), all under its prefix` };
        }
      }
      freeDbs.push(db);
      if (database)
        spawnSync('dropdb', ['-h', '127.0.0.1', '-U', 'postgres', '--if-exists', '--force', database]);
    }
  });
  for (const res of results)
    Object.assign(rows.get(res.name), {
      install: res.install,
      esm: res.esm,
      cjs: res.cjs,
      sh: res.sh,
      redis: res.redis,
      log: res.log,
    });

  // The table: one row per package, one column per check; the failures' first lines below it.
  // sh: the shell quick start of a package with a `bin` (a CLI); n/a: the check does not apply.
  const cols = ['load', 'engines', 'install', 'esm', 'cjs', 'sh', 'redis'];
  const cell = (s, c) =>
    s ? (s.na ? 'n/a' : s.ok ? (c === 'engines' ? `pass: ${s.detail}` : 'pass') : 'FAIL') : '-';
  // redis: only for quick starts that use Redis; sh: only for packages with a bin.
  const optional = new Set(['redis', 'sh']);
  console.log(`\n| package | ${cols.join(' | ')} |\n| --- |${' --- |'.repeat(cols.length)}`);
  for (const row of rows.values())
    console.log(`| ${row.name}@${row.version} | ${cols.map((c) => cell(row[c], c)).join(' | ')} |`);
  let failures = 0;
  // LICENSE, CHANGELOG, repository/homepage/bugs/files (tooling/package-meta.mjs).
  const meta = packageMeta().filter((m) => checked.some((p) => m.startsWith(`${p.name}:`)));
  if (meta.length) {
    failures += meta.length;
    console.log(`\npackage metadata (fix: node tooling/package-meta.mjs --write):\n  ${meta.join('\n  ')}`);
  }
  for (const row of rows.values()) {
    for (const c of cols) {
      if (row[c]?.ok || (optional.has(c) && !row[c])) continue;
      failures++;
      console.log(`\n${row.name} ${c}: ${row[c]?.detail ?? 'not run'}`.replace(/\n(?!\n|@)/g, '\n    '));
    }
  }
  if (keep) {
    for (const row of rows.values()) {
      if (row.log) writeFileSync(join(work, `${row.name.replace('@pipeline/', '')}.log`), row.log.join('\n'));
    }
    console.log(`\nkept ${work} (quick start projects under quickstart/, logs as <package>.log)`);
  }
  const summary = `${checked.length} package(s), ${failures} failed check(s), ${elapsed()}`;
  if (failures) {
    console.error(`\nrelease check failed: ${summary}`);
    process.exitCode = 1;
  } else {
    console.log(`\nrelease verified: ${summary}`);
  }
} finally {
  for (const f of stopAtEnd) f();
  stop();
  if (!keep) rmSync(work, { recursive: true, force: true });
}
