// CSV export of one series range, page by page with back-pressure, in the replay source's format.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { COMPONENT, type RangeQuery } from './arguments';
import { SQLITE_STORE_ERROR_CODES as CODES, SqliteStoreError } from './errors';

/** The CSV header of an export; it matches the replay source's documented CSV input. */
export const CSV_HEADER = 'ts,open,high,low,close,volume,symbol,timeframe';

/** Where an export reads its rows: raw rows (BAR_COLUMNS order) of [from, query.to), oldest first. */
export interface CsvSource {
  page(query: RangeQuery, from: number, limit: number): unknown[][];
  isClosed(): boolean;
}

/**
 * Streams [from, to) of one series as CSV to a file path or a writable stream. A path is
 * created/overwritten and closed at the end; a stream passed in is left open. Any failure is
 * SQLITE_EXPORT_FAILED (a file being written is destroyed).
 */
export async function exportCsv(
  source: CsvSource,
  query: RangeQuery,
  target: string | NodeJS.WritableStream,
  pageRows: number,
): Promise<{ rows: number }> {
  const ownStream = typeof target === 'string';
  const out: NodeJS.WritableStream = ownStream ? createWriteStream(target) : target;
  // Any stream error ends the export; every wait races against it so a dead stream cannot hang us.
  let onError: (e: Error) => void = () => undefined;
  const errored = new Promise<never>((_, reject) => {
    onError = reject;
    out.once('error', onError);
  });
  errored.catch(() => undefined);
  let rows = 0;
  try {
    const write = async (chunk: string): Promise<void> => {
      if (!out.write(chunk)) await Promise.race([once(out, 'drain'), errored]);
    };
    await write(`${CSV_HEADER}\n`);
    let from = query.from;
    for (;;) {
      if (source.isClosed()) throw new Error('store closed during export');
      const page = source.page(query, from, pageRows);
      if (page.length === 0) break;
      let chunk = '';
      for (const r of page)
        chunk += `${r[2] as number},${r[3] as number},${r[4] as number},${r[5] as number},${r[6] as number},${r[7] as number},${csvField(r[0] as string)},${r[1] as string}\n`;
      rows += page.length;
      await write(chunk);
      const last = page[page.length - 1];
      if (page.length < pageRows || last === undefined) break;
      from = (last[2] as number) + 1;
    }
    if (ownStream) {
      const closed = once(out, 'close');
      out.end();
      await Promise.race([closed, errored]);
    }
  } catch (cause) {
    if (ownStream) (out as NodeJS.WritableStream & { destroy(): void }).destroy();
    throw new SqliteStoreError(
      CODES.EXPORT_FAILED,
      `${COMPONENT}: CSV export failed: ${(cause as Error).message}`,
      { path: ownStream ? target : undefined },
      cause,
    );
  } finally {
    out.removeListener('error', onError);
  }
  return { rows };
}

/** Symbols are plain tickers; quote one anyway if it ever holds a CSV delimiter. */
function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
