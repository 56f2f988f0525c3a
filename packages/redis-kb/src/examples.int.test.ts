// Runs the README's quick start (verbatim: the README block must equal the example file) and the
// consumer example as a user would, in child processes, against the in-process cache and a real Redis.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TEST_REDIS_URL, deleteRedisPrefix, uniqueRedisPrefix } from '@pipeline/test-utils';
import { Redis } from 'ioredis';
import { bar } from './hot-cache.contract';
import { createRedisHotCache } from './redis-hot-cache';

const run = promisify(execFile);
const pkg = join(__dirname, '..');
const admin = new Redis(TEST_REDIS_URL);
afterAll(() => admin.quit());

/** Runs an example with tsx and the given environment (REDIS_URL removed unless given). */
function runExample(file: string, env: Record<string, string>) {
  const { REDIS_URL: _ignored, ...base } = process.env;
  return run(process.execPath, ['--import', 'tsx', `examples/${file}`], {
    cwd: pkg,
    env: { ...base, ...env },
    timeout: 15_000,
  });
}

it('the README quick start is examples/quick-start.ts, verbatim', () => {
  const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
  const block = /## Quick start[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBe(readFileSync(join(pkg, 'examples/quick-start.ts'), 'utf8'));
});

it('the quick start prints the same on the in-process cache and on Redis, writes under its prefix and exits', async () => {
  const prefix = uniqueRedisPrefix('rkbqs');
  try {
    const memory = await runExample('quick-start.ts', {});
    const redis = await runExample('quick-start.ts', { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix });
    // Only Redis has a connection whose status changes (connecting -> ready, printed by the listener).
    const withoutStatus = (out: string) => out.replace(/^cache \S+ -> \S+.*\n/gm, '');
    expect(redis.stdout).toContain('cache connecting -> ready');
    expect(withoutStatus(redis.stdout)).toBe(memory.stdout);
    expect(memory.stdout).toContain('appended: 2');
    expect(memory.stdout).toContain("'2024-01-02T09:31:00.000Z 1.103 (forming)'");
    expect(memory.stderr).toBe('');
    // Everything went under the prefix, nothing under the pipeline's default one.
    expect((await admin.keys(`${prefix}*`)).sort()).toEqual(
      [
        `${prefix}bars:{EURUSD}:1m`,
        `${prefix}features:{EURUSD}`,
        `${prefix}signal:{EURUSD}`,
        `${prefix}stream:bars`,
        `${prefix}stream:signals`,
      ].sort(),
    );
  } finally {
    await deleteRedisPrefix(admin, prefix);
  }
});

it('the quick start fails with CACHE_UNAVAILABLE and exits when Redis is not there', async () => {
  const error = (await runExample('quick-start.ts', {
    REDIS_URL: 'redis://127.0.0.1:1', // nothing listens on port 1
    REDIS_KEY_PREFIX: 'unused:',
  }).then(
    () => null,
    (e: unknown) => e,
  )) as { code: number; stderr: string } | null;
  expect(error?.code).toBe(1);
  expect(error?.stderr).toMatch(/CACHE_UNAVAILABLE|ECONNREFUSED|connect/);
});

it('the consumer example follows the bars written under its prefix and stops after MAX_BARS', async () => {
  const prefix = uniqueRedisPrefix('rkbcons');
  const cache = createRedisHotCache({ redis: TEST_REDIS_URL, keyPrefix: prefix });
  await cache.ready();
  const { REDIS_URL: _ignored, ...base } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/consumer.ts'], {
    cwd: pkg,
    env: { ...base, REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix, SYMBOLS: 'EURUSD', MAX_BARS: '3' },
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('following')) resolve();
      });
      child.on('exit', () => reject(new Error(`consumer exited early: ${out}`)));
    });
    await cache.writeBars([bar(1), bar(1, { symbol: 'XAUUSD' }), bar(2, { final: false, close: 1.2 })]);
    await cache.writeBars([bar(2, { close: 1.3 })]);
    expect(await exited).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines.slice(1, 4)).toEqual([
      `EURUSD 1m ${new Date(bar(1).ts).toISOString()} ${bar(1).close}`,
      `EURUSD 1m ${new Date(bar(2).ts).toISOString()} 1.2 (forming)`,
      `EURUSD 1m ${new Date(bar(2).ts).toISOString()} 1.3`,
    ]);
    expect(lines[4]).toMatch(/^resume after \d+-\d+$/);
  } finally {
    child.kill();
    await cache.close();
    await deleteRedisPrefix(admin, prefix);
  }
});
