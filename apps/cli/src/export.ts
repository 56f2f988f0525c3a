import { type Timeframe } from '@pipeline/core';
import { CLI_ERROR_CODES, CliError } from './errors';
import { storePages } from './pages';
import { describeTarget, openStore, type Target } from './target';
import { writeCsv, writeParquet } from './writers';

export interface ExportOptions {
  /** A SQLite or PostgreSQL history (`sqlite:path`, `postgres://...`). */
  from: Target;
  symbols: readonly string[];
  timeframe: Timeframe;
  /** Epoch ms, inclusive. @default 0 */
  start?: number;
  /** Epoch ms, exclusive. @default now */
  end?: number;
  /** A CSV or Parquet file (written via `<file>.tmp` and renamed). */
  out: Target;
  stdout: NodeJS.WritableStream;
}

/** Copies bars from a history store to a CSV or Parquet file; returns the rows written. */
export async function runExport(o: ExportOptions): Promise<number> {
  if (o.from.kind !== 'sqlite' && o.from.kind !== 'postgres') {
    throw new CliError(
      CLI_ERROR_CODES.BAD_TARGET,
      `--from must be a SQLite or PostgreSQL history, not ${o.from.kind}`,
    );
  }
  if (o.out.kind !== 'csv' && o.out.kind !== 'parquet') {
    throw new CliError(
      CLI_ERROR_CODES.BAD_TARGET,
      `--out must be a .csv or .parquet file, not ${o.out.kind}`,
    );
  }
  if (o.from.kind === 'sqlite') {
    const { existsSync } = await import('node:fs');
    if (!existsSync(o.from.path))
      throw new CliError(CLI_ERROR_CODES.BAD_TARGET, `no SQLite file at ${o.from.path}`);
  }
  const store = await openStore(o.from);
  try {
    const pages = storePages(store, o.symbols, o.timeframe, o.start ?? 0, o.end ?? Date.now());
    const rows =
      o.out.kind === 'csv' ? await writeCsv(o.out.path, pages) : await writeParquet(o.out.path, pages);
    o.stdout.write(`exported ${rows} bars from ${describeTarget(o.from)} to ${o.out.path}\n`);
    return rows;
  } finally {
    await store.close();
  }
}
