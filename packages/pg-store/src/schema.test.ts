import { contractBar } from '@pipeline/test-utils';
import { isPgStoreError } from './errors';
import { choosePartitioning, increasingPerSeries, isConnectionError } from './pg-store';
import { redact } from './redact';
import {
  MIGRATIONS,
  TIMESCALE_CHUNK_MS,
  addMonths,
  copyChunks,
  createPartitionSql,
  monthsOf,
  partitionName,
} from './schema';

describe('partitions', () => {
  it('names and bounds monthly partitions in UTC', () => {
    const jan = Date.UTC(2024, 0, 1);
    expect(partitionName(jan)).toBe('bars_y2024m01');
    expect(addMonths(Date.UTC(2024, 11, 1), 1)).toBe(Date.UTC(2025, 0, 1));
    expect(createPartitionSql('"s"', jan)).toBe(
      `CREATE TABLE IF NOT EXISTS "s".bars_y2024m01 PARTITION OF "s".bars FOR VALUES FROM (${jan}) TO (${Date.UTC(2024, 1, 1)})`,
    );
  });

  it('lists the months a batch touches, including month edges', () => {
    const bars = [
      contractBar(0, { ts: Date.UTC(2024, 1, 29, 23, 59) }),
      contractBar(0, { ts: Date.UTC(2024, 2, 1) }),
      contractBar(0, { ts: Date.UTC(2023, 11, 31, 23, 59, 59, 999) }),
      contractBar(0, { ts: Date.UTC(2024, 2, 15) }),
    ];
    expect(monthsOf(bars)).toEqual([Date.UTC(2023, 11, 1), Date.UTC(2024, 1, 1), Date.UTC(2024, 2, 1)]);
  });
});

describe('TimescaleDB branch (the extension is not installed here: SQL and choice only)', () => {
  it('creates a hypertable on integer ms with ~monthly chunks instead of range partitions', () => {
    const [create, hyper, kv] = MIGRATIONS[0]!.statements({ schema: '"h"', layout: 'timescale' });
    expect(create).not.toMatch(/PARTITION BY/);
    expect(hyper).toBe(
      `SELECT create_hypertable('"h".bars', 'ts', chunk_time_interval => ${TIMESCALE_CHUNK_MS}::bigint)`,
    );
    expect(kv).toMatch(/CREATE TABLE "h".kv/);
    const native = MIGRATIONS[0]!.statements({ schema: '"h"', layout: 'native' });
    expect(native).toHaveLength(2);
    expect(native[0]).toMatch(/PARTITION BY RANGE \(ts\)$/);
  });

  it('auto picks timescale only when the extension is present; timescale without it is refused', () => {
    expect(choosePartitioning('auto', true)).toBe('timescale');
    expect(choosePartitioning('auto', false)).toBe('native');
    expect(choosePartitioning('native', true)).toBe('native');
    let error: unknown;
    try {
      choosePartitioning('timescale', false);
    } catch (e) {
      error = e;
    }
    expect(isPgStoreError(error, 'PG_MIGRATION_FAILED')).toBe(true);
  });
});

describe('COPY text encoding', () => {
  it('escapes backslash, tab, newline and carriage return, writes booleans as t/f', () => {
    const b = contractBar(3, { symbol: 'A\\B\tC\nD\rE', final: false, volume: 0 });
    expect([...copyChunks([b])]).toEqual([
      `A\\\\B\\tC\\nD\\rE\t1m\t${b.ts}\t${b.open}\t${b.high}\t${b.low}\t${b.close}\t0\tyahoo\tf\t1\n`,
    ]);
  });

  it('splits into chunks of about the asked size, on line ends', () => {
    const bars = Array.from({ length: 1000 }, (_, i) => contractBar(i));
    const chunks = [...copyChunks(bars, 4096)];
    expect(chunks.length).toBeGreaterThan(10);
    expect(chunks.every((c) => c.endsWith('\n'))).toBe(true);
    expect(chunks.join('').split('\n')).toHaveLength(1001);
  });
});

describe('errors and redaction', () => {
  it('classifies connection failures apart from query failures', () => {
    expect(
      isConnectionError(
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      ),
    ).toBe(true);
    expect(isConnectionError(Object.assign(new Error('terminating connection'), { code: '57P01' }))).toBe(
      true,
    );
    expect(isConnectionError(Object.assign(new Error('x'), { code: '08006' }))).toBe(true);
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('syntax error'), { code: '42601' }))).toBe(false);
    expect(isConnectionError(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
  });

  it('removes passwords from URLs, key=value strings and the configured password', () => {
    const text = redact(
      'failed postgres://app:pa55word@db:5432/x; dsn host=db password=pa55word user=app; raw pa55word',
      ['pa55word'],
    );
    expect(text).not.toContain('pa55word');
    expect(text).toContain('postgres://');
  });
});

describe('increasingPerSeries (backfill skips dedup when true)', () => {
  it('is true only for contiguous series in strictly increasing time', () => {
    const a = (i: number, symbol = 'A') => contractBar(i, { symbol });
    expect(increasingPerSeries([a(0), a(1), a(2), a(0, 'B'), a(5, 'B')])).toBe(true);
    expect(increasingPerSeries([])).toBe(true);
    expect(increasingPerSeries([a(0), a(1), a(1)])).toBe(false); // duplicate key
    expect(increasingPerSeries([a(1), a(0)])).toBe(false); // out of order
    expect(increasingPerSeries([a(0), a(0, 'B'), a(1)])).toBe(false); // series comes back
    expect(increasingPerSeries([a(0), contractBar(0, { timeframe: '5m', symbol: 'A' })])).toBe(true);
  });
});
