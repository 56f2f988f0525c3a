// `pipeline doctor` as a child process against reachable services (the machine's Redis and
// PostgreSQL, a Yahoo-format fixture server) and unreachable ones (closed ports).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getFreePort, tempDir, TEST_REDIS_URL } from '@pipeline/test-utils';
import { cleanEnv, runBin, setUpBinSuite, type YahooFixture } from './helpers';

jest.setTimeout(60_000);

let yahoo: YahooFixture;
setUpBinSuite((y) => (yahoo = y));

/** The table's rows as { check: [status, detail] }. */
function table(stdout: string): Record<string, [string, string]> {
  const lines = stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^CHECK\s+STATUS\s+DETAIL$/);
  return Object.fromEntries(
    lines.slice(2).map((l) => {
      const m = /^(.+?)\s{2,}(ok|warn|skip|FAIL)\s+(.*)$/.exec(l);
      if (!m) throw new Error(`not a table row: ${l}`);
      return [m[1], [m[2], m[3]]];
    }),
  );
}

describe('pipeline doctor', () => {
  it('passes when Redis, PostgreSQL and the provider answer; prints a table; exit 0', async () => {
    const r = await runBin(['doctor'], {
      env: cleanEnv({
        SYMBOLS: 'EURUSD,AAPL',
        SOURCES: 'yahoo',
        YAHOO_BASE_URL: yahoo.url,
        REDIS_URL: TEST_REDIS_URL,
        HISTORY_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
      }),
      cwd: tempDir('cli-doctor-'),
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = table(r.stdout);
    expect(rows['config SOURCES']).toEqual(['ok', 'yahoo']);
    expect(rows.redis![0]).toBe('ok');
    expect(rows.redis![1]).toMatch(/PONG in [\d.]+ ms, Redis \d/);
    expect(rows.postgres![0]).toBe('ok');
    expect(rows.postgres![1]).toMatch(/PostgreSQL \d/);
    expect(rows.sqlite![0]).toBe('skip');
    expect(rows['provider yahoo']![0]).toBe('ok');
    expect(rows['provider yahoo']![1]).toMatch(
      /^EURUSD 1d: 1 bar\(s\), last \d{4}-\d\d-\d\d close [\d.]+ in \d+ ms$/,
    );
    // one cheap request: the latest daily bar, nothing more
    const doctorRequests = yahoo
      .chartRequests()
      .filter((q) => q.query.get('interval') === '1d' && q.query.get('range'));
    expect(doctorRequests.length).toBeGreaterThanOrEqual(1);
  });

  it('fails on unreachable Redis, PostgreSQL and provider, and a bad SQLite file; exit 1; no password shown', async () => {
    const closed = await getFreePort();
    const dir = tempDir('cli-doctor-bad-');
    writeFileSync(join(dir, 'not-a-db.db'), 'this is not a SQLite file, just text '.repeat(200));
    const r1 = await runBin(['doctor', '--timeout', '2000'], {
      env: cleanEnv({
        SOURCES: 'yahoo,alphavantage',
        TIMEFRAME: '2m',
        PORT: 'eighty',
        YAHOO_BASE_URL: `http://127.0.0.1:${closed}`,
        REDIS_URL: `redis://:s3cretpass@127.0.0.1:${closed}`,
        HISTORY_URL: `postgres://postgres:s3cretpass@127.0.0.1:${closed}/pipeline`,
      }),
      cwd: dir,
    });
    expect(r1.code).toBe(1);
    const rows = table(r1.stdout);
    expect(rows['config TIMEFRAME']).toEqual(['FAIL', '"2m" is not one of 1s,1m,5m,15m,30m,1h,4h,1d']);
    expect(rows['config PORT']).toEqual(['FAIL', '"eighty" is not a number in [0, 65535]']);
    expect(rows['key ALPHAVANTAGE_API_KEY']).toEqual(['warn', 'not set: alphavantage is skipped']);
    expect(rows.redis![0]).toBe('FAIL');
    expect(rows.redis![1]).toMatch(/ECONNREFUSED/);
    expect(rows.postgres![0]).toBe('FAIL');
    expect(rows.postgres![1]).toMatch(/ECONNREFUSED/);
    expect(rows['provider yahoo']![0]).toBe('FAIL');
    expect(rows['provider yahoo']![1]).toMatch(/FETCH_TRANSIENT/);
    expect(rows['provider alphavantage']).toEqual(['skip', 'no ALPHAVANTAGE_API_KEY']);
    expect(r1.stderr).toMatch(
      /CLI_DOCTOR_FAILED: 5 check\(s\) failed: config TIMEFRAME, config PORT, redis, postgres, provider yahoo/,
    );
    expect(r1.stdout + r1.stderr).not.toContain('s3cretpass');

    const r2 = await runBin(['doctor'], {
      env: cleanEnv({ SOURCES: 'synthetic', SQLITE_PATH: join(dir, 'not-a-db.db') }),
      cwd: dir,
    });
    expect(r2.code).toBe(1);
    expect(table(r2.stdout).sqlite).toEqual([
      'FAIL',
      `${join(dir, 'not-a-db.db')}: SQLITE_NOTADB: file is not a database`,
    ]);
    expect(table(r2.stdout)['provider synthetic']![0]).toBe('ok');
  });
});
