// The README extraction rules of the release check. Run: node --test tooling/quickstart.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import ts from 'typescript';
import { spawnSync } from 'node:child_process';
import {
  extractInstall,
  extractQuickStart,
  extractQuickStartBlock,
  redisScope,
  section,
  shellScript,
  toCommonJs,
} from './quickstart.mjs';
import { binsOf, hasLibraryEntry, publishablePackages } from './lib.mjs';

const readme = `# @pipeline/x

## Install

\`\`\`sh
pnpm --filter <your-package> add @pipeline/x cockatiel@^3   # with its peer
\`\`\`

## Quick start

\`\`\`sh
echo not this one
\`\`\`

\`\`\`ts
import { a } from '@pipeline/x';
console.log(a);
\`\`\`

### Variants

\`\`\`ts
// a later block
\`\`\`

## API

\`\`\`ts
// not in the quick start section
\`\`\`
`;

test('the install line: packages only, flags, placeholders and comments dropped', () => {
  assert.deepEqual(extractInstall(readme).names, ['@pipeline/x', 'cockatiel@^3']);
  assert.deepEqual(extractInstall('## Install\n\n```sh\nnpm install @pipeline/a @pipeline/b\n```\n').names, [
    '@pipeline/a',
    '@pipeline/b',
  ]);
  assert.throws(() => extractInstall('## Install\n\nUse your package manager.\n'), /no `npm install/);
});

test('the quick start: the first ts block under the heading, or after the marker', () => {
  assert.equal(extractQuickStart(readme), "import { a } from '@pipeline/x';\nconsole.log(a);");
  const marked = readme.replace('### Variants', '### Variants\n<!-- quickstart -->');
  assert.equal(extractQuickStart(marked), '// a later block');
  assert.throws(() => extractQuickStart('## Quick start\n\n```js\nx\n```\n'), /no ```ts block/);
  assert.throws(() => extractQuickStart('# x\n'), /no "Quick start" heading/);
});

test('the CommonJS twin keeps imports on top, wraps the rest in main and drops export', () => {
  const code = `import { type Bar } from '@pipeline/core';
import { run } from '@pipeline/x';

export async function go(): Promise<Bar[]> {
  return run();
}
const bars = await go();
console.log(bars.length);
`;
  const cjs = toCommonJs(code);
  assert.match(
    cjs,
    /^import \{ type Bar \} from '@pipeline\/core';\nimport \{ run \} from '@pipeline\/x';\n/,
  );
  assert.match(cjs, /async function main\(\): Promise<void> \{\n+async function go\(\)/);
  assert.doesNotMatch(cjs, /export /);
  // What tsc makes of it for a .cts file: require() calls, no top-level await.
  const out = ts.transpileModule(cjs, {
    fileName: 'quickstart.cts',
    compilerOptions: { module: ts.ModuleKind.Node16, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  assert.match(out, /require\("@pipeline\/x"\)/);
  assert.match(out, /main\(\)\.catch/);
});

test('redisScope: keys outside the prefix are stray, everything the run added is removed', (t) => {
  const db = 13; // not the databases the release check uses (15, 14 ...), so this test can run beside it
  const prefix = `release-verify:test_${process.pid}:`;
  const scope = redisScope({ db, prefix });
  if (!scope.up()) return t.skip('no Redis at 127.0.0.1:6379');
  const cli = (...args) =>
    spawnSync('redis-cli', ['-h', '127.0.0.1', '-n', String(db), ...args], { encoding: 'utf8' });
  const other = `release-verify:other_${process.pid}:k`; // a concurrent release check's key
  const old = `test-old-${process.pid}`; // there before the run
  cli('set', old, '1');
  try {
    scope.start();
    cli('set', `${prefix}bars:{EURUSD}`, '1');
    cli('set', `pipeline:bars:{EURUSD}:${process.pid}`, '1');
    cli('set', other, '1');
    const { added, stray } = scope.finish();
    assert.deepEqual(
      added.sort(),
      [`${prefix}bars:{EURUSD}`, `pipeline:bars:{EURUSD}:${process.pid}`].sort(),
    );
    assert.deepEqual(stray, [`pipeline:bars:{EURUSD}:${process.pid}`]);
    assert.equal(
      cli('exists', `${prefix}bars:{EURUSD}`, `pipeline:bars:{EURUSD}:${process.pid}`).stdout.trim(),
      '0',
    );
    assert.equal(cli('exists', other, old).stdout.trim(), '2');
  } finally {
    cli('del', other, old);
  }
});

test('a shell quick start: only for a package with a bin, only when there is no ts block', () => {
  const cli =
    '## Install\n\n```sh\nnpm install -g @pipeline/x\n```\n\n## Quick start\n\n```sh\nx --help\n```\n';
  assert.deepEqual(extractQuickStartBlock(cli, { shell: true }), { kind: 'sh', code: 'x --help' });
  // The -g flag is dropped like any flag: the check installs locally and puts node_modules/.bin on PATH.
  assert.deepEqual(extractInstall(cli).names, ['@pipeline/x']);
  // A library (no bin) needs a ts block.
  assert.throws(() => extractQuickStartBlock(cli), /no ```ts block/);
  // ts wins over sh where both are there (the sh block above the ts one is an install or a note).
  assert.deepEqual(extractQuickStartBlock(readme, { shell: true }), {
    kind: 'ts',
    code: "import { a } from '@pipeline/x';\nconsole.log(a);",
  });
  for (const info of ['bash', 'shell']) {
    const r = cli.replace('```sh\nx --help', `\`\`\`${info}\nx --help`);
    assert.equal(extractQuickStartBlock(r, { shell: true }).kind, 'sh');
  }
  const marked = `${cli}\n## More\n\n<!-- quickstart -->\n\n\`\`\`bash\nx run\n\`\`\`\n`;
  assert.deepEqual(extractQuickStartBlock(marked, { shell: true }), { kind: 'sh', code: 'x run' });
  assert.throws(
    () => extractQuickStartBlock('## Quick start\n\n```js\nx\n```\n', { shell: true }),
    /no ```ts or ```sh block/,
  );
});

test('a shell quick start stops at its first failing command, pipes included', () => {
  const run = (code) => spawnSync('bash', ['-c', shellScript(code)], { encoding: 'utf8' });
  assert.equal(run('echo a\necho b').status, 0);
  const failed = run('echo a\nfalse\necho never');
  assert.notEqual(failed.status, 0);
  assert.doesNotMatch(failed.stdout, /never/);
  assert.notEqual(run('false | cat\necho never').status, 0);
  assert.notEqual(run('echo $UNSET_VARIABLE_OF_THE_TEST').status, 0);
});

test('publishable packages: packages/* and the public apps/*, never a private one', () => {
  const all = publishablePackages();
  assert.ok(all.every(({ pkg }) => !pkg.private));
  assert.ok(all.some((p) => p.dir.includes('/packages/')));
  assert.ok(!all.some((p) => p.name === '@pipeline/sidecar' || p.name === '@pipeline/deploy'));
  assert.ok(!all.some((p) => p.name === '@pipeline/test-utils'));
  assert.deepEqual(binsOf({ name: '@s/tool', bin: 'cli.js' }), { tool: 'cli.js' });
  assert.deepEqual(binsOf({ name: 'x', bin: { a: 'a.js' } }), { a: 'a.js' });
  assert.deepEqual(binsOf({ name: 'x' }), {});
  assert.equal(hasLibraryEntry({ bin: { a: 'a.js' } }), false);
  assert.equal(hasLibraryEntry({ exports: { '.': { import: './i.js' } } }), true);
  assert.equal(hasLibraryEntry({ exports: { './package.json': './package.json' } }), false);
  assert.equal(hasLibraryEntry({ main: './i.cjs' }), true);
});

test('a section is everything up to the next heading of its level, blank lines and subsections included', () => {
  const md =
    '## Compatibility\n\nBundles: one paragraph.\n\nNode >= 20.19, ESM and CJS.\n\n### Detail\n\nx\n\n## Next\n\ny\n';
  const text = section(md, /^compatibility\b/i);
  assert.match(text, /Node >= 20\.19/);
  assert.match(text, /### Detail/);
  assert.doesNotMatch(text, /## Next|y\n/);
  assert.equal(section(md, /^missing\b/i), null);
});
