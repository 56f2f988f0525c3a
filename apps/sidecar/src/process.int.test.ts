// The service as operators run it: a child process (main.ts through tsx), configured by the
// environment, stopped with SIGTERM. It must exit 0 within 10 s with every bar flushed to SQLite.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { systemClock } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { startProviderServer, type ProviderServer } from '@pipeline/fetchers/testing';
import { createSqliteStore } from '@pipeline/sqlite-store';
import { cleanupTempDirs, getFreePort, tempSqlitePath } from '@pipeline/test-utils';
import { at } from '../test/at';

const APP_DIR = join(__dirname, '..');

function startService(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: APP_DIR,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

async function waitFor<T>(fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('sidecar as a child process', () => {
  let yahoo: ProviderServer;
  beforeAll(async () => {
    yahoo = await startProviderServer({ fetcher: createSyntheticFetcher({ clock: systemClock }) });
  });
  afterAll(async () => {
    await yahoo.close();
    cleanupTempDirs();
  });

  it('serves live data, exits 0 on SIGTERM and leaves every bar in SQLite', async () => {
    const port = await getFreePort();
    const sqlitePath = tempSqlitePath('process');
    const svc = startService({
      SYMBOLS: 'EURUSD,XAUUSD',
      SOURCES: 'yahoo',
      YAHOO_BASE_URL: yahoo.url,
      PORT: String(port),
      SQLITE_PATH: sqlitePath,
      BOOTSTRAP_DAYS: '0',
      BATCH_WRITE_INTERVAL: '3600', // nothing is flushed before shutdown
      COLLECTION_INTERVAL: '0.2',
      ALPHAVANTAGE_API_KEY: 'av-secret-should-never-be-logged',
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(
        async () => ((await fetch(`${base}/health/ready`)).status === 200 ? true : undefined),
        20_000,
      );
      const health = await waitFor(async () => {
        const h = (await (await fetch(`${base}/health`)).json()) as {
          loop: { cycles: number };
          storage: { pendingWrites: number };
        };
        return h.loop.cycles >= 3 ? h : undefined;
      }, 10_000);
      expect(health.storage.pendingWrites).toBeGreaterThan(0);
      const t0 = Date.now();
      svc.child.kill('SIGTERM');
      const code = await svc.exited;
      expect(code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(svc.output()).toContain('stopped cleanly');
      expect(svc.output()).not.toContain('av-secret-should-never-be-logged');
      // The last bars the service saw (from its last log-free state: the provider's own walk).
      const store = createSqliteStore({ path: sqlitePath });
      try {
        for (const symbol of ['EURUSD', 'XAUUSD']) {
          const rows = store.latest(symbol, '1m', 5);
          expect(rows.length).toBeGreaterThanOrEqual(2);
          const truth = await createSyntheticFetcher({ clock: systemClock }).fetchHistory({
            symbol,
            timeframe: '1m',
            from: at(rows, 0).ts,
            to: at(rows, -1).ts,
          });
          for (const t of truth) expect(rows.find((r) => r.ts === t.ts)?.close).toBeCloseTo(t.close, 10);
        }
      } finally {
        await store.close();
      }
    } finally {
      if (svc.child.exitCode === null) svc.child.kill('SIGKILL');
    }
  }, 40_000);

  it('refuses to start on bad configuration, naming every bad variable on its own line', async () => {
    const svc = startService({ TIMEFRAME: '7m', REDIS_POOL_SIZE: '99', PORT: '0' });
    const code = await svc.exited;
    expect(code).toBe(78);
    const lines = svc
      .output()
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('sidecar: invalid'));
    expect(lines).toEqual([
      'sidecar: invalid TIMEFRAME="7m": one of 1s, 1m, 5m, 15m, 30m, 1h, 4h, 1d',
      'sidecar: invalid REDIS_POOL_SIZE="99": an integer from 1 to 64',
    ]);
  }, 20_000);
});
