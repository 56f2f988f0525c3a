import { isPipelineError } from '@pipeline/core';
import { tempSqlitePath, cleanupTempDirs } from '@pipeline/test-utils';
import { createSqliteStore, SQLITE_STORE_DEFAULTS, type SqliteStoreOptions } from './index';

afterAll(() => cleanupTempDirs());

function expectOptionsError(options: unknown, pattern: RegExp): void {
  let thrown: unknown;
  try {
    createSqliteStore(options as SqliteStoreOptions);
  } catch (e) {
    thrown = e;
  }
  expect(isPipelineError(thrown, 'INVALID_OPTIONS')).toBe(true);
  expect((thrown as Error).message).toMatch(pattern);
}

describe('SqliteStore options', () => {
  it('defaults are frozen and documented values', () => {
    expect(Object.isFrozen(SQLITE_STORE_DEFAULTS)).toBe(true);
    expect(SQLITE_STORE_DEFAULTS.flushIntervalMs).toBe(10_000);
    expect(SQLITE_STORE_DEFAULTS.mode).toBe('inline');
    expect(SQLITE_STORE_DEFAULTS.rowsPerStatement).toBe(50);
  });

  it('rejects unknown (misspelled) option names', () => {
    expectOptionsError({ path: tempSqlitePath(), flushIntervalMS: 5 }, /unknown option "flushIntervalMS"/);
  });

  it('rejects misspelled pragmas by name and bad pragma values with the value quoted', () => {
    expectOptionsError(
      { path: tempSqlitePath(), pragmas: { synchronus: 'NORMAL' } },
      /unknown pragma "synchronus"/,
    );
    expectOptionsError({ path: tempSqlitePath(), pragmas: { synchronous: 'SOMETIMES' } }, /"SOMETIMES"/);
    expectOptionsError(
      { path: tempSqlitePath(), pragmas: { cache_size: 1.5 } },
      /cache_size" must be an integer, got 1.5/,
    );
    expectOptionsError(
      { path: tempSqlitePath(), mode: 'worker', pragmas: { locking_mode: 'exclusive' } },
      /locking_mode "exclusive" cannot be used with mode 'worker'/,
    );
  });

  it('quotes bad values', () => {
    expectOptionsError({ path: '' }, /"path" must be a non-empty string, got ""/);
    expectOptionsError({ path: tempSqlitePath(), mode: 'thread' }, /'inline' or 'worker', got "thread"/);
    expectOptionsError({ path: ':memory:', mode: 'worker' }, /needs a file/);
    expectOptionsError({ path: tempSqlitePath(), flushIntervalMs: 0 }, /flushIntervalMs.*got 0/);
    expectOptionsError(
      { path: tempSqlitePath(), maxPending: 10.5 },
      /maxPending" must be an integer, got 10.5/,
    );
    expectOptionsError({ path: tempSqlitePath(), rowsPerStatement: 5000 }, /rowsPerStatement.*got 5000/);
    expectOptionsError({ path: tempSqlitePath(), calendar: 'nyse' }, /calendar.*got "nyse"/);
    expectOptionsError({ path: tempSqlitePath(), retentionMs: { '2m': 1000 } }, /unknown timeframe "2m"/);
    expectOptionsError({ path: tempSqlitePath(), retentionMs: { '1m': -1 } }, /retentionMs.1m.*got -1/);
    expectOptionsError({ path: tempSqlitePath(), scheduler: { now: () => 0 } }, /scheduler/);
    expectOptionsError(null, /options must be an object/);
  });

  it('accepts valid overrides and exposes them frozen', async () => {
    const store = createSqliteStore({
      path: tempSqlitePath(),
      flushIntervalMs: 500,
      pragmas: { cache_size: -8000, synchronous: 'full' },
    });
    try {
      expect(store.options.flushIntervalMs).toBe(500);
      expect(Object.isFrozen(store.options)).toBe(true);
    } finally {
      await store.close();
    }
  });
});
