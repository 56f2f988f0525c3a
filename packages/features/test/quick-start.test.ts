// Runs examples/quick-start.ts (the README's quick start) so the documented code keeps working.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

it('the README quick start runs and prints the documented values', async () => {
  const lines: string[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(
      args
        .map((a) => (typeof a === 'string' || typeof a === 'number' ? String(a) : JSON.stringify(a)))
        .join(' '),
    );
  });
  try {
    await import('../examples/quick-start');
  } finally {
    spy.mockRestore();
  }
  expect(lines).toContain('FEATURES_NOT_STABLE');
  expect(lines).toContain('restored RSI equals true');
  expect(lines.some((l) => l.startsWith('EMA(12) first valid at index 11: NaN '))).toBe(true);
  expect(lines[lines.length - 1]).toMatch(/\["1m","5m","15m","1h"\]$/);
});

it('the README quick start is examples/quick-start.ts verbatim, importing only @pipeline/features', () => {
  const pkg = join(__dirname, '..');
  const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
  const example = readFileSync(join(pkg, 'examples/quick-start.ts'), 'utf8');
  const block = /## Quick start[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBe(example);
  // Strict pnpm installs only what the README's install line names: the quick start imports nothing else.
  const imported = [...example.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
  expect(new Set(imported)).toEqual(new Set(['@pipeline/features']));
});
