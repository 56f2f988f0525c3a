import type Database from 'better-sqlite3';
import { ROW_WIDTH } from './row-encoding';
import { SERIES_SQL, upsertSql } from './schema';

export { ROW_WIDTH };

/**
 * Writes flat row arrays (ROW_WIDTH values per row) in one transaction: full chunks through the
 * multi-row statement, the remainder row by row. The worker thread runs the same algorithm in plain
 * JavaScript (worker-source.ts); both are exercised by the same tests.
 */
export class RowWriter {
  private readonly chunkStmt: Database.Statement;
  private readonly oneStmt: Database.Statement;
  private readonly seriesStmt: Database.Statement;
  private readonly tx: (flat: readonly unknown[]) => void;

  constructor(
    db: Database.Database,
    private readonly rowsPerStatement: number,
  ) {
    this.chunkStmt = db.prepare(upsertSql(rowsPerStatement));
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
      this.chunkStmt.run(flat.slice(i * ROW_WIDTH, i * ROW_WIDTH + chunkWidth));
    }
    for (; i < n; i++) this.oneStmt.run(flat.slice(i * ROW_WIDTH, (i + 1) * ROW_WIDTH));
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
