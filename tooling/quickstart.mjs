// The README quick starts as a new user meets them: each published package is installed ALONE into a
// scratch project outside the workspace with strict pnpm (isolated node_modules, no hoisting, strict
// peers), using the install line of its README, and the quick start taken from the same README runs
// twice: as ESM TypeScript (tsc, node16, strict) and as its CommonJS twin (a .cts file generated from
// the same code and compiled by tsc to require() calls). A package with a `bin` (a CLI) may have a
// shell quick start instead: it runs with bash (`set -euo pipefail`) in the scratch project with the
// project's node_modules/.bin first on PATH, as a global install would put the commands. Used by
// release-verify.mjs; the extraction rules are documented in the root README ("Releasing").
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { root } from './lib.mjs';

/** Markdown sections: heading text (lower case) to the lines under it, up to the next heading of the same or a higher level. */
export function section(markdown, pattern) {
  const lines = markdown.split('\n');
  let fence = false;
  for (let i = 0; i < lines.length; i++) {
    if (/^\s*(```|~~~)/.test(lines[i])) fence = !fence;
    if (fence) continue;
    const m = /^(#{1,6})\s+(.*)$/.exec(lines[i]);
    if (!m || !pattern.test(m[2].trim())) continue;
    const level = m[1].length;
    const out = [];
    let inner = false;
    for (let j = i + 1; j < lines.length; j++) {
      if (/^\s*(```|~~~)/.test(lines[j])) inner = !inner;
      const h = !inner && /^(#{1,6})\s/.exec(lines[j]);
      if (h && h[1].length <= level) break;
      out.push(lines[j]);
    }
    return out.join('\n');
  }
  return null;
}

/** Fenced code blocks of a markdown text: { info, code } in order. */
function fencedBlocks(markdown) {
  const blocks = [];
  const re = /^([ \t]*)(```+|~~~+)[ \t]*([^\n`]*)\n([\s\S]*?)\n\1\2[ \t]*$/gm;
  for (let m; (m = re.exec(markdown));) blocks.push({ info: m[3].trim(), code: m[4], index: m.index });
  return blocks;
}

const isTs = (info) => /^(ts|typescript)\b/i.test(info);
const isShell = (info) => /^(sh|bash|shell)\b/i.test(info);

/**
 * The quick start of a README. Rule: the first ```ts (or ```typescript) block after a
 * `<!-- quickstart -->` comment when the README has one; otherwise the first ```ts block under the
 * "Quick start" heading (up to the next heading of the same level).
 */
export function extractQuickStart(readme) {
  const marker = readme.search(/<!--\s*quickstart\s*-->/i);
  if (marker >= 0) {
    const block = fencedBlocks(readme.slice(marker)).find((b) => isTs(b.info));
    if (!block) throw new Error('a <!-- quickstart --> marker with no ```ts block after it');
    return block.code;
  }
  const text = section(readme, /^quick ?start\b/i);
  if (text === null) throw new Error('no "Quick start" heading and no <!-- quickstart --> marker');
  const block = fencedBlocks(text).find((b) => isTs(b.info));
  if (!block) throw new Error('no ```ts block under the "Quick start" heading');
  return block.code;
}

/**
 * The quick start of a README as { kind, code }, kind 'ts' or 'sh'. The ```ts block is found as by
 * extractQuickStart. With `shell: true` (a package with a `bin`), a README whose quick start
 * (the section, or what follows the marker) has no ```ts block uses its first ```sh, ```bash or
 * ```shell block instead, run as a bash script.
 */
export function extractQuickStartBlock(readme, { shell = false } = {}) {
  if (!shell) return { kind: 'ts', code: extractQuickStart(readme) };
  const marker = readme.search(/<!--\s*quickstart\s*-->/i);
  let blocks;
  if (marker >= 0) {
    blocks = fencedBlocks(readme.slice(marker));
  } else {
    const text = section(readme, /^quick ?start\b/i);
    if (text === null) throw new Error('no "Quick start" heading and no <!-- quickstart --> marker');
    blocks = fencedBlocks(text);
  }
  const ts = blocks.find((b) => isTs(b.info));
  if (ts) return { kind: 'ts', code: ts.code };
  const sh = blocks.find((b) => isShell(b.info));
  if (sh) return { kind: 'sh', code: sh.code };
  throw new Error(
    marker >= 0
      ? 'a <!-- quickstart --> marker with no ```ts or ```sh block after it'
      : 'no ```ts or ```sh block under the "Quick start" heading',
  );
}

/** The bash script a shell quick start runs as: stops at the first failing command or pipe. */
export const shellScript = (code) => `set -euo pipefail\n${code}\n`;

/**
 * The packages of a README's install line. Rule: under the "Install" heading, the first line of a
 * fenced block that runs `npm install|i`, `pnpm [...] add` or `yarn add`; its arguments that are not
 * flags or placeholders (`<your-package>`) are the packages; `#` starts a comment.
 */
export function extractInstall(readme) {
  const text = section(readme, /^install(ation)?\b/i);
  if (text === null) throw new Error('no "Install" heading');
  for (const { code } of fencedBlocks(text)) {
    for (const raw of code.split('\n')) {
      const line = raw.replace(/\s#.*$/, '').trim();
      const m = /^(?:npm\s+(?:install|i|add)|yarn\s+add|pnpm\s+(?:.*?\s)?add)\s+(.*)$/.exec(line);
      if (!m) continue;
      const names = m[1].split(/\s+/).filter((t) => t && !t.startsWith('-') && !/^<.*>$/.test(t));
      if (names.length) return { line, names };
    }
  }
  throw new Error('no `npm install ...` / `pnpm add ...` line in a code block under "Install"');
}

/**
 * The CommonJS twin of an ESM quick start, as a .cts source: import declarations stay at the top
 * (tsc turns them into require() calls for a .cts file), everything else moves into an async main()
 * so that top-level await keeps working, `export` modifiers are dropped, and a rejection sets exit
 * code 1. Done on the TypeScript syntax tree, not with regular expressions.
 */
export function toCommonJs(code) {
  const sf = ts.createSourceFile('quickstart.ts', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const imports = [];
  const body = [];
  for (const st of sf.statements) {
    const text = code.slice(st.getFullStart(), st.getEnd());
    if (ts.isImportDeclaration(st) || ts.isImportEqualsDeclaration(st)) {
      imports.push(text.trim());
      continue;
    }
    if (ts.isExportDeclaration(st) || ts.isExportAssignment(st)) continue;
    const exp = ts.canHaveModifiers(st)
      ? ts.getModifiers(st)?.find((m) => m.kind === ts.SyntaxKind.ExportKeyword)
      : undefined;
    body.push(
      exp ? code.slice(st.getFullStart(), exp.getStart()) + code.slice(exp.getEnd() + 1, st.getEnd()) : text,
    );
  }
  return `${imports.join('\n')}

async function main(): Promise<void> {${body.join('')}
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
`;
}

/** Runs a command without blocking the event loop; resolves { code, out } (stdout and stderr together). */
export function exec(cmd, args, { cwd, env, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: -1, out: `${out}\n${error.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) out += `\n(killed: still running after ${timeoutMs / 1000} s)`;
      resolve({ code: timedOut ? 'timeout' : (code ?? signal), out });
    });
  });
}

/**
 * Gives better-sqlite3 in a scratch project its compiled addon: copied from the workspace's build
 * when the versions match (the same source compiled on this machine), otherwise `npm rebuild`.
 * Install scripts are skipped in the scratch projects: without internet better-sqlite3 compiles from
 * source for minutes; with internet it downloads a prebuilt binary, which is what a user gets.
 */
export async function provideNativeAddon(project, env) {
  const candidates = [join(project, 'node_modules', 'better-sqlite3')];
  const store = join(project, 'node_modules', '.pnpm');
  if (existsSync(store)) {
    for (const d of readdirSync(store)) {
      if (d.startsWith('better-sqlite3@')) candidates.push(join(store, d, 'node_modules', 'better-sqlite3'));
    }
  }
  const done = new Set();
  for (const c of candidates) {
    if (!existsSync(join(c, 'package.json'))) continue;
    const target = realpathSync(c);
    if (done.has(target)) continue;
    done.add(target);
    if (existsSync(join(target, 'build', 'Release', 'better_sqlite3.node'))) continue;
    const version = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')).version;
    const built = join(
      root,
      'node_modules',
      '.pnpm',
      `better-sqlite3@${version}`,
      'node_modules',
      'better-sqlite3',
      'build',
      'Release',
      'better_sqlite3.node',
    );
    if (existsSync(built)) {
      mkdirSync(join(target, 'build', 'Release'), { recursive: true });
      copyFileSync(built, join(target, 'build', 'Release', 'better_sqlite3.node'));
    } else {
      const r = await exec('npm', ['rebuild'], { cwd: target, env, timeoutMs: 600_000 });
      if (r.code !== 0) throw new Error(`better-sqlite3 ${version}: npm rebuild failed\n${r.out}`);
    }
  }
}

/** The first lines of a failure, for the table: compiler errors and the thrown error, not the stack. */
export function firstLines(out, n = 6) {
  const lines = out
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l && !/^\s+at /.test(l) && !/^Node\.js v/.test(l));
  const errs = lines.filter((l) => /error|Error|ERR_|killed|exit/.test(l));
  return (errs.length ? errs : lines).slice(0, n).join('\n');
}

const short = (name) => name.replace(/^@pipeline\//, '');

/**
 * One package: scratch project, install, then its quick start: ESM and CJS runs of a ```ts quick
 * start, or one bash run of a shell quick start (a package with a `bin`). Returns
 * { name, kind, install, esm, cjs, sh } with each step { ok, detail } ({ na: true } for the forms that
 * do not apply). `services` gives the per-package Redis prefix and PostgreSQL database (see
 * release-verify.mjs).
 */
export async function verifyQuickStart({ pkg, work, registry, env, versions, services }) {
  const name = pkg.name;
  const result = { name, kind: null, install: null, esm: null, cjs: null, sh: null, log: [] };
  const na = { ok: true, na: true, detail: 'not applicable' };
  let block;
  let install;
  const hasBin = Boolean(pkg.pkg?.bin);
  try {
    const readme = readFileSync(join(pkg.dir, 'README.md'), 'utf8');
    block = extractQuickStartBlock(readme, { shell: hasBin });
    install = extractInstall(readme);
  } catch (error) {
    result.install = { ok: false, detail: `README: ${error.message}` };
    result.esm = result.cjs = { ok: false, detail: 'not run (no quick start)' };
    if (hasBin) result.sh = { ok: false, detail: 'not run (no quick start)' };
    return result;
  }
  result.kind = block.kind;
  const shell = block.kind === 'sh';
  const code = block.code;
  const skip = { ok: false, detail: 'not run (install failed)' };
  const dir = join(work, 'quickstart', short(name));
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify(
      {
        name: `quickstart-${short(name)}`,
        private: true,
        version: '1.0.0',
        type: 'module',
        // What a TypeScript user has anyway; the package's own dependencies come from the install line.
        ...(shell
          ? {}
          : { devDependencies: { typescript: versions.typescript, '@types/node': versions.typesNode } }),
      },
      null,
      2,
    )}\n`,
  );
  // pnpm reads these settings from pnpm-workspace.yaml (not .npmrc); strict: no hoisting at all.
  writeFileSync(
    join(dir, 'pnpm-workspace.yaml'),
    `nodeLinker: isolated
hoist: false
publicHoistPattern: []
shamefullyHoist: false
strictPeerDependencies: true
autoInstallPeers: false
`,
  );
  if (shell) {
    writeFileSync(join(dir, 'quickstart.sh'), shellScript(code));
  } else {
    writeFileSync(join(dir, 'quickstart.ts'), code);
    writeFileSync(join(dir, 'quickstart-cjs.cts'), toCommonJs(code));
    const compilerOptions = {
      module: 'node16',
      moduleResolution: 'node16',
      target: 'es2022',
      lib: ['es2023'],
      strict: true,
      skipLibCheck: true,
      types: ['node'],
      outDir: 'out',
      rootDir: '.',
    };
    writeFileSync(
      join(dir, 'tsconfig.esm.json'),
      JSON.stringify({ compilerOptions, files: ['quickstart.ts'] }, null, 2),
    );
    writeFileSync(
      join(dir, 'tsconfig.cjs.json'),
      JSON.stringify({ compilerOptions, files: ['quickstart-cjs.cts'] }, null, 2),
    );
  }

  // A global install (`npm install -g`) becomes a local one: its flags are dropped with the others,
  // and the project's node_modules/.bin goes first on PATH below, which is what -g gives a shell.
  const addArgs = ['add', ...install.names, '--registry', registry, '--ignore-scripts', '--prefer-offline'];
  const inst = await exec('pnpm', addArgs, { cwd: dir, env, timeoutMs: 300_000 });
  result.log.push(`$ pnpm ${addArgs.join(' ')}\n${inst.out}`);
  if (inst.code !== 0) {
    result.install = { ok: false, detail: `pnpm add ${install.names.join(' ')}: ${firstLines(inst.out)}` };
    if (shell) [result.esm, result.cjs, result.sh] = [na, na, skip];
    else [result.esm, result.cjs, result.sh] = [skip, skip, hasBin ? na : null];
    return result;
  }
  try {
    await provideNativeAddon(dir, env);
  } catch (error) {
    result.log.push(String(error.message));
  }
  result.install = { ok: true, detail: install.line };

  const runEnv = { ...env, ...services.env };
  if (shell) {
    const bin = join(dir, 'node_modules', '.bin');
    // -x: each command is echoed (`+ pipeline ...`) before it runs, so a failure names its line.
    const ran = await exec('bash', ['-x', 'quickstart.sh'], {
      cwd: dir,
      env: { ...runEnv, PATH: `${bin}:${runEnv.PATH ?? process.env.PATH}`, PS4: '+ ' },
      timeoutMs: services.timeoutMs,
    });
    result.log.push(`$ bash -x quickstart.sh  # PATH=node_modules/.bin:$PATH\n${ran.out}`);
    const lines = ran.out.split('\n').filter(Boolean);
    const commands = lines.filter((l) => l.startsWith('+ ') && !l.startsWith('+ set -euo pipefail')).length;
    result.sh =
      ran.code === 0
        ? { ok: true, detail: `${commands} command(s), ${lines.length - commands} lines of output` }
        : { ok: false, detail: `bash exit ${ran.code}:\n${lines.slice(-6).join('\n')}` };
    result.esm = result.cjs = na;
    return result;
  }
  if (hasBin) result.sh = na;
  const tsc = join(dir, 'node_modules', '.bin', 'tsc');
  for (const [form, config, out] of [
    ['esm', 'tsconfig.esm.json', 'out/quickstart.js'],
    ['cjs', 'tsconfig.cjs.json', 'out/quickstart-cjs.cjs'],
  ]) {
    const built = await exec(tsc, ['-p', config], { cwd: dir, env: runEnv, timeoutMs: 120_000 });
    result.log.push(`$ tsc -p ${config}\n${built.out}`);
    // tsc emits despite type errors: running the output anyway tells an owner whether the failure is
    // in the types only or at run time too.
    const ran = existsSync(join(dir, out))
      ? await exec('node', [out], { cwd: dir, env: runEnv, timeoutMs: services.timeoutMs })
      : null;
    if (ran) result.log.push(`$ node ${out}\n${ran.out}`);
    const problems = [];
    if (built.code !== 0) problems.push(`tsc: ${firstLines(built.out)}`);
    if (ran && ran.code !== 0) problems.push(`node exit ${ran.code}: ${firstLines(ran.out)}`);
    if (built.code !== 0 && ran?.code === 0) problems.push('node: runs (the failure is in the types)');
    result[form] = problems.length
      ? { ok: false, detail: problems.join('\n') }
      : { ok: true, detail: `${ran.out.split('\n').filter(Boolean).length} lines of output` };
  }
  return result;
}

/**
 * A quick start's share of the machine's Redis: logical database `db`, keys under `prefix`. `start()`
 * notes the keys already there; `finish()` deletes what the run added and returns
 * { added, stray }, stray being the added keys outside the prefix. Keys under another
 * `release-verify:` prefix belong to a release check running at the same time and are left alone.
 */
export function redisScope({ db, prefix, host = '127.0.0.1', port = 6379 }) {
  const cli = (...args) =>
    spawnSync('redis-cli', ['-h', host, '-p', String(port), '-n', String(db), ...args], { encoding: 'utf8' });
  const keys = () => new Set((cli('--scan').stdout ?? '').split('\n').filter(Boolean));
  let before = new Set();
  return {
    up: () => cli('ping').stdout?.trim() === 'PONG',
    start() {
      before = keys();
    },
    finish() {
      const added = [...keys()].filter(
        (k) => !before.has(k) && (k.startsWith(prefix) || !k.startsWith('release-verify:')),
      );
      for (let i = 0; i < added.length; i += 500) cli('del', ...added.slice(i, i + 500));
      return { added, stray: added.filter((k) => !k.startsWith(prefix)) };
    },
  };
}

/** Runs `task` over `items` with at most `limit` at a time, keeping the order of the results. */
export async function pool(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
