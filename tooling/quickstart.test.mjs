// The README extraction rules of the release check. Run: node --test tooling/quickstart.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import ts from 'typescript';
import { extractInstall, extractQuickStart, toCommonJs } from './quickstart.mjs';

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
