// The real `pipeline` bin as a child process: download to CSV, Parquet, SQLite and PostgreSQL from a
// fixture server speaking Yahoo's chart format and from the synthetic source; resume after SIGKILL.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createSyntheticFetcher, createYahooFetcher } from '@pipeline/fetchers';
import { tempDir } from '@pipeline/test-utils';
import { readParquet } from '../src/writers';
import { cleanEnv, parseCsv, runBin, setUpBinSuite, startBin, stepsOf, type YahooFixture } from './helpers';

jest.setTimeout(120_000);

let yahoo: YahooFixture;
setUpBinSuite((y) => (yahoo = y));

const MIN = 60_000;

describe('pipeline download', () => {
  it('writes a recorded Yahoo year to CSV: the same bars the Yahoo fetcher reads, header, ISO time', async () => {
    const dir = tempDir('cli-csv-');
    const r = await runBin(
      [
        'download',
        '--symbols',
        'EURUSD',
        '--timeframe',
        '1d',
        '--start',
        '2020-01-01',
        '--end',
        '2021-01-01',
        '--out',
        'eurusd.csv',
      ],
      { env: cleanEnv({ YAHOO_BASE_URL: yahoo.url }), cwd: dir },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = parseCsv(readFileSync(join(dir, 'eurusd.csv'), 'utf8'));
    const fetcher = createYahooFetcher({ baseUrl: yahoo.url });
    const expected = await fetcher.fetchHistory({
      symbol: 'EURUSD',
      timeframe: '1d',
      from: Date.UTC(2020, 0, 1),
      to: Date.UTC(2021, 0, 1),
    });
    await fetcher.close();
    expect(expected.length).toBeGreaterThan(250);
    expect(
      rows.map((x) => [Number(x.ts), Number(x.open), Number(x.high), Number(x.low), Number(x.close)]),
    ).toEqual(expected.map((b) => [b.ts, b.open, b.high, b.low, b.close]));
    expect(rows[0]).toMatchObject({
      symbol: 'EURUSD',
      timeframe: '1d',
      time: '2020-01-01T00:00:00.000Z',
      source: 'yahoo',
      final: 'true',
    });
    expect(r.stdout).toContain(`wrote ${expected.length} bars to ${join(dir, 'eurusd.csv')}`);
    // the staging file is gone once the file is complete
    expect(existsSync(join(dir, 'eurusd.csv.partial.db'))).toBe(false);
  });

  it('writes the synthetic source to Parquet; read back, every value equals the source', async () => {
    const dir = tempDir('cli-parquet-');
    const start = Date.UTC(2026, 9, 5);
    const end = Date.UTC(2026, 9, 8);
    const r = await runBin(
      [
        'download',
        '--symbols',
        'EURUSD,AAPL',
        '--timeframe',
        '1m',
        '--start',
        '2026-10-05',
        '--end',
        '2026-10-08',
        '--source',
        'synthetic',
        '--out',
        'bars.parquet',
      ],
      { env: cleanEnv(), cwd: dir },
    );
    expect(r.code).toBe(0);
    const back = await readParquet(join(dir, 'bars.parquet'));
    const market = createSyntheticFetcher();
    const want = [
      ...(await market.fetchHistory({ symbol: 'EURUSD', timeframe: '1m', from: start, to: end })),
      ...(await market.fetchHistory({ symbol: 'AAPL', timeframe: '1m', from: start, to: end })),
    ];
    expect(back).toHaveLength(2 * 3 * 1440);
    expect(back).toEqual(want.map((b) => ({ ...b, quality: 1 })));
  });

  it('writes Yahoo 1m bars into SQLite; a rerun adds only what is new (no duplicates, no gaps)', async () => {
    const dir = tempDir('cli-sqlite-');
    const args = [
      'download',
      '--symbols',
      'EURUSD,AAPL',
      '--timeframe',
      '1m',
      '--days',
      '2',
      '--out',
      'sqlite:hist/bars.db',
    ];
    const env = cleanEnv({ YAHOO_BASE_URL: yahoo.url });
    const first = await runBin(args, { env, cwd: dir });
    expect(first.code).toBe(0);
    const second = await runBin(args, { env, cwd: dir });
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/EURUSD 1m: resuming after/);
    const db = new Database(join(dir, 'hist/bars.db'), { readonly: true });
    try {
      for (const symbol of ['EURUSD', 'AAPL']) {
        const ts = (
          db
            .prepare('SELECT ts FROM bars WHERE symbol = ? AND timeframe = ? ORDER BY ts')
            .raw()
            .all(symbol, '1m') as number[][]
        ).map((x) => x[0]!);
        expect(ts.length).toBeGreaterThanOrEqual(2 * 1440 - 2);
        expect(stepsOf(ts)).toEqual(new Set([MIN]));
        expect(Date.now() - ts.at(-1)!).toBeLessThan(3 * MIN);
      }
    } finally {
      db.close();
    }
    // the second run asked only for the minutes since the first
    const firstWritten = Number(/EURUSD 1m yahoo: (\d+) bars written/.exec(first.stdout)?.[1]);
    const secondWritten = Number(/EURUSD 1m yahoo: (\d+) bars written/.exec(second.stdout)?.[1]);
    expect(firstWritten).toBeGreaterThan(2800);
    expect(secondWritten).toBeLessThan(5);
  });

  it('resumes after SIGKILL mid-download: the rerun completes the CSV with no duplicates and no gaps', async () => {
    const dir = tempDir('cli-resume-');
    const args = [
      'download',
      '--symbols',
      'EURUSD,AAPL',
      '--timeframe',
      '1m',
      '--days',
      '20',
      '--out',
      'resume.csv',
    ];
    const env = cleanEnv({ YAHOO_BASE_URL: yahoo.url });
    yahoo.delayMs = 300;
    const before = yahoo.chartRequests().length;
    const run = startBin(args, { env, cwd: dir });
    // 20 days of 1m bars = 3 requests per symbol (Yahoo: at most 7 days each, 10,000 bars): kill in the 4th.
    while (yahoo.chartRequests().length - before < 4 && run.child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(run.child.exitCode).toBeNull(); // still downloading when killed
    run.child.kill('SIGKILL');
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(dir, 'resume.csv'))).toBe(false);
    expect(existsSync(join(dir, 'resume.csv.partial.db'))).toBe(true);

    yahoo.delayMs = 0;
    const mid = yahoo.chartRequests().length;
    const rerun = await runBin(args, { env, cwd: dir });
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toMatch(/EURUSD 1m: resuming after/);
    // EURUSD was done (3 requests) before the kill; the rerun needs at most AAPL's 3 (+1 for new minutes).
    expect(yahoo.chartRequests().length - mid).toBeLessThanOrEqual(4);
    const rows = parseCsv(readFileSync(join(dir, 'resume.csv'), 'utf8'));
    for (const symbol of ['EURUSD', 'AAPL']) {
      const ts = rows.filter((x) => x.symbol === symbol).map((x) => Number(x.ts));
      expect(ts.length).toBeGreaterThanOrEqual(20 * 1440 - 2);
      expect(stepsOf(ts)).toEqual(new Set([MIN]));
    }
    expect(existsSync(join(dir, 'resume.csv.partial.db'))).toBe(false);
  });

  it("waits out the provider's 429 (Retry-After) and then completes", async () => {
    const dir = tempDir('cli-429-');
    yahoo.queue.push({
      status: 429,
      headers: { 'content-type': 'text/plain', 'retry-after': '1' },
      body: 'Too Many Requests',
    });
    const t0 = Date.now();
    const r = await runBin(
      ['download', '--symbols', 'AAPL', '--timeframe', '1h', '--days', '3', '--out', 'aapl.csv'],
      {
        env: cleanEnv({ YAHOO_BASE_URL: yahoo.url }),
        cwd: dir,
      },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/AAPL: rate limit: waiting 1 s/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(parseCsv(readFileSync(join(dir, 'aapl.csv'), 'utf8')).length).toBeGreaterThanOrEqual(71);
  });

  it('downloads into PostgreSQL and exports it back to CSV', async () => {
    const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
    await admin.connect();
    const db = `cli_test_${process.pid}_${Date.now()}`;
    await admin.query(`CREATE DATABASE ${db}`);
    try {
      const url = `postgres://postgres@127.0.0.1:5432/${db}`;
      const dir = tempDir('cli-pg-');
      const r = await runBin(
        [
          'download',
          '--symbols',
          'EURUSD',
          '--timeframe',
          '5m',
          '--start',
          '2026-10-01',
          '--end',
          '2026-10-03',
          '--source',
          'synthetic',
          '--out',
          url,
        ],
        { env: cleanEnv(), cwd: dir },
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`576 bars written to ${url}`);
      const e = await runBin(
        ['export', '--from', url, '--symbols', 'EURUSD', '--timeframe', '5m', '--out', 'pg.csv'],
        { env: cleanEnv(), cwd: dir },
      );
      expect(e.code).toBe(0);
      const rows = parseCsv(readFileSync(join(dir, 'pg.csv'), 'utf8'));
      const want = await createSyntheticFetcher().fetchHistory({
        symbol: 'EURUSD',
        timeframe: '5m',
        from: Date.UTC(2026, 9, 1),
        to: Date.UTC(2026, 9, 3),
      });
      expect(rows.map((x) => [Number(x.ts), Number(x.close)])).toEqual(want.map((b) => [b.ts, b.close]));
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.end();
    }
  });

  it('refuses bad input with a clear message and touches nothing', async () => {
    const dir = tempDir('cli-bad-');
    const env = cleanEnv();
    const badTf = await runBin(['download', '--symbols', 'EURUSD', '--timeframe', '2m', '--out', 'x.csv'], {
      env,
      cwd: dir,
    });
    expect(badTf.code).toBe(2);
    expect(badTf.stderr).toContain("argument '2m' is invalid. allowed: 1s, 1m, 5m, 15m, 30m, 1h, 4h, 1d");
    const badOut = await runBin(['download', '--symbols', 'EURUSD', '--out', 'x.txt'], { env, cwd: dir });
    expect(badOut.code).toBe(2);
    expect(badOut.stderr).toContain('cannot tell what "x.txt" is');
    writeFileSync(join(dir, 'keep.csv'), 'precious\n');
    const exists = await runBin(
      ['download', '--symbols', 'EURUSD', '--source', 'synthetic', '--days', '1', '--out', 'keep.csv'],
      { env, cwd: dir },
    );
    expect(exists.code).toBe(1);
    expect(exists.stderr).toMatch(/CLI_OUT_EXISTS: .*keep\.csv exists/);
    expect(readFileSync(join(dir, 'keep.csv'), 'utf8')).toBe('precious\n');
    const noKey = await runBin(
      ['download', '--symbols', 'EURUSD', '--source', 'polygon', '--days', '1', '--out', 'p.csv'],
      { env, cwd: dir },
    );
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain('CLI_SOURCE_UNAVAILABLE');
    expect(noKey.stderr).toContain('POLYGON_API_KEY');
  });
});
