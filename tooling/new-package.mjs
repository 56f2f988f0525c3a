#!/usr/bin/env node
// Scaffolds a publishable package: `node tooling/new-package.mjs <name> "<one-line purpose>"`.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageMeta } from './package-meta.mjs';

const [name, description = ''] = process.argv.slice(2);
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  console.error('usage: node tooling/new-package.mjs <kebab-name> "<purpose>"');
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'packages', name);
if (existsSync(dir)) {
  console.error(`packages/${name} exists already`);
  process.exit(2);
}
mkdirSync(join(dir, 'src'), { recursive: true });
const pkg = {
  name: `@pipeline/${name}`,
  version: '0.1.0',
  description,
  license: 'MIT',
  type: 'module',
  main: './dist/index.cjs',
  module: './dist/index.js',
  types: './dist/index.d.cts',
  exports: {
    '.': {
      import: { types: './dist/index.d.ts', default: './dist/index.js' },
      require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
    },
    './package.json': './package.json',
  },
  files: ['dist', 'README.md'],
  sideEffects: false,
  engines: { node: '>=20' },
  publishConfig: { access: 'public' },
  scripts: {
    build: 'tsup --config ../../tsup.config.ts',
    test: 'jest',
    typecheck: 'tsc --noEmit -p .',
    lint: 'eslint .',
  },
  dependencies: name === 'core' ? {} : { '@pipeline/core': 'workspace:^' },
};
writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
writeFileSync(
  join(dir, 'tsconfig.json'),
  JSON.stringify(
    {
      extends: '../../tsconfig.base.json',
      compilerOptions: { baseUrl: '../..', noEmit: true },
      include: ['src', 'test', 'bench', 'examples'],
    },
    null,
    2,
  ) + '\n',
);
writeFileSync(
  join(dir, 'jest.config.cjs'),
  "module.exports = require('../../jest.preset.cjs')(__dirname);\n",
);
writeFileSync(
  join(dir, 'src', 'index.ts'),
  `// Public entry of @pipeline/${name}: explicit named re-exports only.\nexport {};\n`,
);
writeFileSync(join(dir, 'README.md'), `# @pipeline/${name}\n\n${description}\n`);
// LICENSE, CHANGELOG.md, repository/homepage/bugs/files: the same as every published package.
packageMeta({ write: true });
console.log(`created packages/${name}`);
