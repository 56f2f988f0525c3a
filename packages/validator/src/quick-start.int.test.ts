// Runs the README's quick start as a user would (it imports only @pipeline/validator).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const pkgDir = join(__dirname, '..');
const tsx = join(pkgDir, '../../node_modules/.bin/tsx');

it('examples/quick-start.ts runs, prints what its comments say, and is the code the README shows', async () => {
  const { stdout } = await run(tsx, ['examples/quick-start.ts'], { cwd: pkgDir, timeout: 30_000 });
  expect(stdout).toContain('repaired 0.9 1.09342');
  expect(stdout).toContain('accepted 0');
  expect(stdout).toContain('1 1 close is not a finite number: NaN');
  const example = readFileSync(join(pkgDir, 'examples/quick-start.ts'), 'utf8');
  const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
  const firstImport = example.indexOf('import ');
  expect(example.slice(firstImport).split('\n')[0]).toBe(
    "import { createValidator, ManualClock, type Bar } from '@pipeline/validator';",
  );
  expect(readme).toContain(example.slice(firstImport).split('\n')[0]);
  expect(example).not.toContain("'@pipeline/core'");
});
