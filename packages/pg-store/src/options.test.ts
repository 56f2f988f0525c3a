import { ManualClock } from '@pipeline/core';
import pg from 'pg';
import { PG_STORE_DEFAULTS, resolvePgStoreOptions } from './options';
import { createPgStore } from './pg-store';

const url = 'postgres://postgres:s3cret-pw@127.0.0.1:5432/db';
const bad = (o: unknown): string => {
  try {
    resolvePgStoreOptions(o as never);
  } catch (e) {
    expect((e as { code: string }).code).toBe('INVALID_OPTIONS');
    return (e as Error).message;
  }
  throw new Error('accepted');
};

describe('resolvePgStoreOptions', () => {
  it('fills defaults, freezes, and keeps the url', () => {
    const o = resolvePgStoreOptions({ url });
    expect(o).toMatchObject({ ...PG_STORE_DEFAULTS, url, pool: undefined });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('names unknown (misspelled) options', () => {
    expect(bad({ url, flushIntervalMS: 5 })).toMatch(
      /unknown option "flushIntervalMS"; known options: .*flushIntervalMs/,
    );
  });

  it('needs exactly one of url and pool', () => {
    expect(bad({})).toMatch(/exactly one of "url" and "pool"/);
    const pool = new pg.Pool();
    expect(bad({ url, pool })).toMatch(/exactly one/);
    expect(bad({ pool, poolSize: 3 })).toMatch(/"poolSize" applies to the pool created from "url"/);
    expect(bad({ pool, statementTimeoutMs: 3 })).toMatch(/statementTimeoutMs/);
    expect(resolvePgStoreOptions({ pool }).pool).toBe(pool);
    void pool.end();
  });

  it('never quotes a url (it may hold a password)', () => {
    const msg = bad({ url: 'mysql://root:s3cret-pw@host/db' });
    expect(msg).toMatch(/postgres:\/\//);
    expect(msg).not.toContain('s3cret');
  });

  it('quotes other bad values', () => {
    expect(bad({ url, schema: 'Bad-Name' })).toMatch(/schema.*"Bad-Name"/);
    expect(bad({ url, poolSize: 0 })).toMatch(/poolSize.*0/);
    expect(bad({ url, maxPending: 1.5 })).toMatch(/maxPending" must be an integer, got 1.5/);
    expect(bad({ url, calendar: 'lse' })).toMatch(/calendar.*"lse"/);
    expect(bad({ url, partitioning: 'daily' })).toMatch(/partitioning.*"daily"/);
    expect(bad({ url, retentionMs: { '2m': 5 } })).toMatch(/unknown timeframe "2m"/);
    expect(bad({ url, retentionMs: { '1m': -5 } })).toMatch(/retentionMs.1m/);
    expect(bad({ url, retryBaseMs: 1000, retryMaxMs: 10 })).toMatch(/retryMaxMs/);
    expect(bad({ url, scheduler: {} })).toMatch(/scheduler/);
  });

  it('createPgStore validates before connecting and leaves no timer behind on close', async () => {
    expect(() => createPgStore({ url, flushIntervalMs: -1 })).toThrow(/flushIntervalMs/);
    const clock = new ManualClock(0);
    const s = createPgStore({ url, scheduler: clock });
    expect(s.kind).toBe('postgres');
    expect(clock.pendingTimers).toBe(1);
    await s.close();
    expect(clock.pendingTimers).toBe(0);
    expect(s.isClosed).toBe(true);
  });
});
