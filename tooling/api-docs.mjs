#!/usr/bin/env node
// API reference: typedoc with typedoc-plugin-markdown, one folder of markdown per published package
// (docs/api/<package>/, from the package's src/index.ts; packages/* and the public apps/*, a bin-only
// package is skipped), committed so that the READMEs' links work
// on the forge. `pnpm docs:api` regenerates everything; `pnpm docs:api validator` one package;
// `--check` regenerates into a scratch folder and fails when the committed docs differ.
// typedoc is a tool of this script, not a dependency of any package: it is installed once into a
// cache folder (API_DOCS_CACHE, default ~/.cache/pipeline-api-docs), like the registry of
// release-verify.mjs, which keeps it out of the workspace's lockfile.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { hasLibraryEntry, publishablePackages, root, run } from './lib.mjs';
import { exec, pool } from './quickstart.mjs';

const TYPEDOC = '0.28.20';
const MARKDOWN = '4.14.1';
const typescript = JSON.parse(
  readFileSync(join(root, 'node_modules', 'typescript', 'package.json'), 'utf8'),
).version;

const args = process.argv.slice(2);
const check = args.includes('--check');
const names = args.filter((a) => !a.startsWith('--')).map((n) => (n.startsWith('@') ? n : `@pipeline/${n}`));
// A package without a library entry (bin-only: nothing to import) has no API to document; a CLI
// that also exports its commands as functions (apps/cli) is documented like a library.
const selected = publishablePackages().filter((p) => !names.length || names.includes(p.name));
const packages = selected.filter((p) => hasLibraryEntry(p.pkg) && existsSync(join(p.dir, 'src', 'index.ts')));
for (const p of selected.filter((x) => !packages.includes(x))) {
  console.log(`skip ${p.name}: bin-only package (no library entry), no API reference`);
}
if (names.length && selected.length !== names.length) {
  console.error(`unknown package in: ${names.join(', ')}`);
  process.exit(2);
}

const cache = process.env.API_DOCS_CACHE ?? join(homedir(), '.cache', 'pipeline-api-docs');
const toolDir = join(cache, `typedoc@${TYPEDOC}-markdown@${MARKDOWN}-ts@${typescript}`);
const bin = join(toolDir, 'node_modules', '.bin', 'typedoc');
if (!existsSync(bin)) {
  mkdirSync(toolDir, { recursive: true });
  writeFileSync(
    join(toolDir, 'package.json'),
    JSON.stringify({
      name: 'api-docs-tool',
      private: true,
      dependencies: { typedoc: TYPEDOC, 'typedoc-plugin-markdown': MARKDOWN, typescript },
    }),
  );
  console.log(`installing typedoc ${TYPEDOC} and typedoc-plugin-markdown ${MARKDOWN} into ${toolDir}`);
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: toolDir });
}

const outRoot = check ? mkdtempSync(join(tmpdir(), 'api-docs-')) : join(root, 'docs', 'api');
const started = Date.now();
const results = await pool(packages, 2, async ({ name, dir }) => {
  const out = join(outRoot, basename(dir));
  rmSync(out, { recursive: true, force: true });
  const r = await exec(
    bin,
    [
      '--plugin',
      join(toolDir, 'node_modules', 'typedoc-plugin-markdown', 'dist', 'index.js'),
      '--entryPoints',
      join(dir, 'src', 'index.ts'),
      '--tsconfig',
      join(dir, 'tsconfig.json'),
      '--out',
      out,
      '--name',
      name,
      '--readme',
      'none',
      '--excludePrivate',
      '--excludeInternal',
      '--excludeExternals',
      // Source links would carry the commit hash and change on every commit.
      '--disableSources',
      '--hideGenerator',
      '--skipErrorChecking',
      '--logLevel',
      'Error',
      '--outputFileStrategy',
      'modules',
    ],
    { cwd: root, timeoutMs: 300_000 },
  );
  console.log(
    `${r.code === 0 ? 'ok  ' : 'FAIL'} ${name} -> ${out}${r.out.trim() ? `\n${r.out.trim()}` : ''}`,
  );
  return r.code === 0;
});
let failed = results.filter((ok) => !ok).length;

if (check && !failed) {
  // Same files, same contents.
  const list = (d) =>
    existsSync(d)
      ? readdirSync(d, { recursive: true })
          .filter((f) => f.endsWith('.md'))
          .sort()
      : [];
  for (const { dir } of packages) {
    const a = join(root, 'docs', 'api', basename(dir));
    const b = join(outRoot, basename(dir));
    const fa = list(a);
    const fb = list(b);
    const differs =
      JSON.stringify(fa) !== JSON.stringify(fb) ||
      fa.some((f) => readFileSync(join(a, f), 'utf8') !== readFileSync(join(b, f), 'utf8'));
    if (differs) {
      failed++;
      console.error(`docs/api/${basename(dir)} is out of date: run pnpm docs:api`);
    }
  }
  rmSync(outRoot, { recursive: true, force: true });
}
console.log(`${packages.length} package(s) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (failed) process.exit(1);
