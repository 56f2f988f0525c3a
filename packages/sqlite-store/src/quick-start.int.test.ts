import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

it('the README quick start runs and prints what it promises', async () => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/quick-start.ts'], {
    cwd: join(__dirname, '..'),
  });
  const lines = stdout.trim().split('\n');
  expect(lines).toContain('pending 2');
  expect(lines.some((l) => /^flushed 2 rows in [\d.]+ ms$/.test(l))).toBe(true);
  expect(stdout).toContain('[ 1.17, 1.18, 1.19 ]');
  expect(stdout).toMatch(/missing: 3/);
});

it('the README quick start is examples/quick-start.ts, verbatim', () => {
  const pkg = join(__dirname, '..');
  const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
  const block = /## Quick start[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBe(readFileSync(join(pkg, 'examples/quick-start.ts'), 'utf8'));
});

it('the HistoryStore example runs and prints what it promises', async () => {
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'examples/history-store.ts'], {
    cwd: join(__dirname, '..'),
  });
  expect(stderr).toBe('');
  expect(stdout).toContain('written 1');
  expect(stdout).toContain('[ 1.15, 1.16, 1.18 ]');
  expect(stdout).toMatch(/missing: 1/);
  expect(stdout).toContain("{ status: 'ready' } 0");
  // The README shows the file verbatim.
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  expect(readme).toContain(readFileSync(join(__dirname, '..', 'examples/history-store.ts'), 'utf8'));
});
