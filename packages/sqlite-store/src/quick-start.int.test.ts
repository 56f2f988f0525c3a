import { execFile } from 'node:child_process';
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
