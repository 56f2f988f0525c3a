import {
  BAR_TUPLE_FIELDS,
  BAR_TUPLE_WIDTH,
  barFromTuple,
  isRecord,
  isTimeframe,
  type Bar,
} from '@pipeline/core';
import { STRING_COLUMNS } from './row-encoding';

/**
 * Versioned schema. Entry i moves a file from user_version i to i + 1; a file is migrated in one
 * transaction per step, so a crash mid-migration leaves it at the previous version.
 */
export const MIGRATIONS: readonly string[] = Object.freeze([
  // v1: one row per (symbol, timeframe, ts). WITHOUT ROWID stores rows in primary-key order, so
  // last-N and range reads are one B-tree seek plus a sequential walk.
  `CREATE TABLE bars (
     symbol    TEXT    NOT NULL,
     timeframe TEXT    NOT NULL,
     ts        INTEGER NOT NULL,
     open      REAL    NOT NULL,
     high      REAL    NOT NULL,
     low       REAL    NOT NULL,
     close     REAL    NOT NULL,
     volume    REAL    NOT NULL,
     source    TEXT    NOT NULL,
     final     INTEGER NOT NULL,
     quality   REAL    NOT NULL,
     PRIMARY KEY (symbol, timeframe, ts)
   ) WITHOUT ROWID;
   CREATE TABLE series (
     symbol    TEXT NOT NULL,
     timeframe TEXT NOT NULL,
     PRIMARY KEY (symbol, timeframe)
   ) WITHOUT ROWID;
   CREATE TABLE kv (
     key        TEXT    NOT NULL PRIMARY KEY,
     value      TEXT    NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
]);

/** The schema version this package writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The bar table's columns: core's bar tuple order, so a row binds and reads as a `BarTuple`. */
export const BAR_COLUMNS = BAR_TUPLE_FIELDS.join(', ');

/** Multi-row upsert: a row that exists is replaced column by column (forming bar -> later update). */
export function upsertSql(rows: number): string {
  const one = `(${new Array<string>(BAR_TUPLE_WIDTH).fill('?').join(',')})`;
  return (
    `INSERT INTO bars (${BAR_COLUMNS}) VALUES ${new Array<string>(rows).fill(one).join(',')} ` + UPSERT_TAIL
  );
}

const UPSERT_TAIL =
  'ON CONFLICT (symbol, timeframe, ts) DO UPDATE SET open = excluded.open, high = excluded.high, ' +
  'low = excluded.low, close = excluded.close, volume = excluded.volume, source = excluded.source, ' +
  'final = excluded.final, quality = excluded.quality';

/**
 * Multi-row upsert of `rows` rows that share their symbol, timeframe and source (a backfill chunk, a
 * series' run in a flush): those three are bound once per statement, first and in
 * {@link STRING_COLUMNS} order, then the other columns of each row in tuple order. Binding a string
 * costs a UTF-8 conversion and a copy per value, three per row in {@link upsertSql} (about a tenth
 * of the writer thread's time in a bootstrap under `perf`). Same rows, same upsert.
 */
export function upsertSharedSql(rows: number): string {
  const shared = new Set(STRING_COLUMNS);
  let k = 0;
  const select = BAR_TUPLE_FIELDS.map((f, i) => (shared.has(i) ? `p.${f}` : `v.column${++k}`)).join(', ');
  const one = `(${new Array<string>(BAR_TUPLE_WIDTH - shared.size).fill('?').join(',')})`;
  const p = STRING_COLUMNS.map((i) => `? AS ${BAR_TUPLE_FIELDS[i] ?? ''}`).join(', ');
  return (
    `INSERT INTO bars (${BAR_COLUMNS}) SELECT ${select} FROM (SELECT ${p}) AS p, ` +
    `(VALUES ${new Array<string>(rows).fill(one).join(',')}) AS v WHERE true ` +
    UPSERT_TAIL
  );
}

export const SERIES_SQL = 'INSERT OR IGNORE INTO series (symbol, timeframe) VALUES (?, ?)';

/** A row read with `.raw()` (columns {@link BAR_COLUMNS}, `final` 0/1) as a bar. */
export function rowToBar(r: unknown[]): Bar {
  return barFromTuple(r);
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Why a bar cannot be stored, or null. Only what the schema needs is checked (shape, finite numbers,
 * integer ts); price plausibility is the validator's job and is not repeated here.
 */
export function barProblem(bar: unknown): string | null {
  if (!isRecord(bar)) return 'not an object';
  if (typeof bar.symbol !== 'string' || bar.symbol.length === 0) return 'symbol must be a non-empty string';
  if (!isTimeframe(bar.timeframe)) return `unknown timeframe ${JSON.stringify(bar.timeframe)}`;
  if (!Number.isSafeInteger(bar.ts)) return `ts must be an integer epoch ms, got ${String(bar.ts)}`;
  if (!isNum(bar.open) || !isNum(bar.high) || !isNum(bar.low) || !isNum(bar.close))
    return 'prices must be finite numbers';
  if (!isNum(bar.volume) || bar.volume < 0) return 'volume must be a finite number >= 0';
  if (typeof bar.source !== 'string' || bar.source.length === 0) return 'source must be a non-empty string';
  if (typeof bar.final !== 'boolean') return 'final must be a boolean';
  if (!isNum(bar.quality)) return 'quality must be a finite number';
  return null;
}
