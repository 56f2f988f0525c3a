import type Database from 'better-sqlite3';
import { ROW_WIDTH, STRING_COLUMNS } from './row-encoding';
import { SERIES_SQL, upsertSharedSql, upsertSql } from './schema';

export { ROW_WIDTH };

/** The columns of a row that are not {@link STRING_COLUMNS}, in tuple order. */
const OWN_COLUMNS = Array.from({ length: ROW_WIDTH }, (_, c) => c).filter((c) => !STRING_COLUMNS.includes(c));

/**
 * Values bound as the call's arguments: an array argument costs better-sqlite3 a V8 property lookup
 * per value. Past this many (a large rowsPerStatement) the call would need a deep stack: an array then.
 */
const MAX_SPREAD = 8192;

function run(stmt: Database.Statement, values: unknown[]): void {
  if (values.length <= MAX_SPREAD) stmt.run(...values);
  else stmt.run(values);
}

/**
 * Writes flat row arrays (ROW_WIDTH values per row) in one transaction: full chunks through a
 * multi-row statement (the shared-series one when the chunk's rows share symbol, timeframe and
 * source), the remainder row by row. The worker thread runs the same algorithm in plain
 * JavaScript (worker-source.ts); both are exercised by the same tests.
 */
export class RowWriter {
  private readonly chunkStmt: Database.Statement;
  private readonly sharedStmt: Database.Statement;
  private readonly oneStmt: Database.Statement;
  private readonly seriesStmt: Database.Statement;
  private readonly tx: (flat: readonly unknown[]) => void;

  constructor(
    db: Database.Database,
    private readonly rowsPerStatement: number,
  ) {
    this.chunkStmt = db.prepare(upsertSql(rowsPerStatement));
    this.sharedStmt = db.prepare(upsertSharedSql(rowsPerStatement));
    this.oneStmt = db.prepare(upsertSql(1));
    this.seriesStmt = db.prepare(SERIES_SQL);
    this.tx = db.transaction((flat: readonly unknown[]) => this.writeRows(flat));
  }

  /** Writes every row or none (one transaction). */
  write(flat: readonly unknown[]): void {
    this.tx(flat);
  }

  private writeRows(flat: readonly unknown[]): void {
    const n = flat.length / ROW_WIDTH;
    const chunkWidth = this.rowsPerStatement * ROW_WIDTH;
    let i = 0;
    for (; i + this.rowsPerStatement <= n; i += this.rowsPerStatement) {
      const from = i * ROW_WIDTH;
      if (sharesSeries(flat, from, from + chunkWidth))
        run(this.sharedStmt, sharedValues(flat, from, from + chunkWidth));
      else run(this.chunkStmt, flat.slice(from, from + chunkWidth));
    }
    for (; i < n; i++) run(this.oneStmt, flat.slice(i * ROW_WIDTH, (i + 1) * ROW_WIDTH));
    // Rows usually arrive grouped by series: only a change of (symbol, timeframe) costs a lookup.
    let lastSymbol: unknown;
    let lastTf: unknown;
    const seen = new Set<string>();
    for (let r = 0; r < flat.length; r += ROW_WIDTH) {
      const symbol = flat[r];
      const tf = flat[r + 1];
      if (symbol === lastSymbol && tf === lastTf) continue;
      lastSymbol = symbol;
      lastTf = tf;
      const key = `${String(symbol)}|${String(tf)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      this.seriesStmt.run(symbol, tf);
    }
  }
}

/** True when the rows in flat[from, to) share symbol, timeframe and source. */
function sharesSeries(flat: readonly unknown[], from: number, to: number): boolean {
  for (let o = from + ROW_WIDTH; o < to; o += ROW_WIDTH) {
    for (const c of STRING_COLUMNS) if (flat[o + c] !== flat[from + c]) return false;
  }
  return true;
}

/** upsertSharedSql's parameters for the rows in flat[from, to): the shared strings, then each row's own columns. */
function sharedValues(flat: readonly unknown[], from: number, to: number): unknown[] {
  const out = new Array<unknown>(STRING_COLUMNS.length + ((to - from) / ROW_WIDTH) * OWN_COLUMNS.length);
  let k = 0;
  for (const c of STRING_COLUMNS) out[k++] = flat[from + c];
  for (let o = from; o < to; o += ROW_WIDTH) for (const c of OWN_COLUMNS) out[k++] = flat[o + c];
  return out;
}
