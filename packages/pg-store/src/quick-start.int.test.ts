import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase } from '../test/pg';

const run = promisify(execFile);

it('the README quick start runs against a fresh database and prints what it promises', async () => {
  const db = await createTestDatabase('pgstore_quickstart');
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'examples/quick-start.ts'], {
      cwd: join(__dirname, '..'),
      env: { ...process.env, HISTORY_URL: db.url },
    });
    const lines = stdout.trim().split('\n');
    expect(stderr).toBe('');
    expect(lines).toContain('pending 2');
    expect(lines.some((l) => /^flushed 2 rows in [\d.]+ ms$/.test(l))).toBe(true);
    expect(lines).toContain('backfilled 2');
    expect(stdout).toContain('[ 1.17, 1.18, 1.19 ]');
    const t0 = Date.UTC(2024, 0, 2, 10, 0);
    expect(stdout).toContain(`from: ${t0 + 2 * 60_000}, to: ${t0 + 5 * 60_000}, missing: 3`);
    expect(stdout).toContain(`{ doneTo: ${t0} }`);
    expect(stdout).toContain("{ status: 'ready' }");
  } finally {
    await db.drop();
  }
});

it('the README quick start is examples/quick-start.ts verbatim, importing only @pipeline/pg-store', () => {
  const pkg = join(__dirname, '..');
  const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
  const example = readFileSync(join(pkg, 'examples/quick-start.ts'), 'utf8');
  expect(/## Quick start[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1]).toBe(example);
  // Strict pnpm installs only what the README's install line names: the quick start imports nothing else.
  const imported = [...example.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
  expect(new Set(imported)).toEqual(new Set(['@pipeline/pg-store']));
});
