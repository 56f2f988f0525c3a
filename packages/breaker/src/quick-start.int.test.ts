// Runs the README's quick start exactly as a user would, so the documented code keeps working.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const pkgDir = join(__dirname, '..');
const tsx = join(pkgDir, '../../node_modules/.bin/tsx');

it('examples/quick-start.ts runs and falls back through retries to an answer', async () => {
  const { stdout } = await run(tsx, ['examples/quick-start.ts'], { cwd: pkgDir, timeout: 30_000 });
  expect(stdout).toContain('yahoo answered 1 bar(s) after 3 attempts');
  const snapshot = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
    state: string;
    counts: { retries: number };
  };
  expect(snapshot).toMatchObject({ state: 'closed', counts: { retries: 2 } });
});

it('the README shows examples/quick-start.ts verbatim, importing only this package', () => {
  const example = readFileSync(join(pkgDir, 'examples/quick-start.ts'), 'utf8');
  const code = example.slice(example.indexOf('import ')).trimEnd();
  expect(readFileSync(join(pkgDir, 'README.md'), 'utf8')).toContain(code);
  expect(code).not.toMatch(/from '@pipeline\/(?!breaker')/);
});
