import { FetchError, isTimeframe, type Bar, type Timeframe } from '@pipeline/core';
import { parse } from 'csv-parse/sync';
import { rowToBar } from '../base/fetcher-kit';
import { type FetcherStats } from '../base/stats';

/** Columns of a replay CSV; `symbol` and `timeframe` are optional (then the options name them). */
export const REPLAY_CSV_COLUMNS = Object.freeze([
  'ts',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'symbol',
  'timeframe',
] as const);

export interface ReplayCsvDefaults {
  symbol: string | undefined;
  timeframe: Timeframe | undefined;
}

/**
 * Reads `ts,open,high,low,close,volume[,symbol,timeframe]` (header required, any column order, any
 * case). `ts` is the bar open: epoch milliseconds, or an ISO 8601 time with a zone
 * (`2024-01-02T10:00:00Z`). Parsed by csv-parse (RFC 4180: quoted fields with commas, quotes and line
 * breaks inside), with a UTF-8 BOM stripped, CRLF or LF line ends, and `;` as the delimiter when the
 * header line uses `;` and no `,` (spreadsheet exports in many locales). Rows that cannot be read are
 * skipped and counted, never thrown; a file without the needed columns, or that is not CSV at all
 * (an unclosed quote), throws a `malformed` FetchError.
 */
export function parseReplayCsv(text: string, defaults: ReplayCsvDefaults, stats: FetcherStats): Bar[] {
  const malformed = (message: string, cause?: unknown): never => {
    throw new FetchError({ kind: 'malformed', source: 'replay', message, ...(cause ? { cause } : {}) });
  };
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const firstLine = body.slice(0, body.search(/\r?\n|$/));
  const delimiter = firstLine.includes(';') && !firstLine.includes(',') ? ';' : ',';
  let rows: string[][] = [];
  try {
    rows = parse(body, {
      bom: true,
      delimiter,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
    }) as string[][];
  } catch (err) {
    malformed(`not a readable CSV file: ${(err as Error).message}`, err);
  }
  const header = (rows.shift() ?? []).map((h) => h.trim().toLowerCase());
  const col = (name: string): number => header.indexOf(name);
  for (const need of ['ts', 'open', 'high', 'low', 'close']) {
    if (col(need) < 0) malformed(`CSV header lacks "${need}": got ${JSON.stringify(header.join(delimiter))}`);
  }
  if (col('symbol') < 0 && !defaults.symbol) malformed('CSV has no symbol column and no "symbol" option');
  if (col('timeframe') < 0 && !defaults.timeframe)
    malformed('CSV has no timeframe column and no "timeframe" option');
  const out: Bar[] = [];
  for (const cells of rows) {
    const cell = (name: string): string | undefined => (col(name) >= 0 ? cells[col(name)] : undefined);
    const rawTs = cell('ts') ?? '';
    const ts = /^-?\d+$/.test(rawTs) ? Number(rawTs) : Date.parse(rawTs);
    const symbol = cell('symbol') || defaults.symbol;
    const timeframe = cell('timeframe') || defaults.timeframe;
    if (!Number.isFinite(ts) || !symbol || !isTimeframe(timeframe)) {
      stats.partialRowsSkipped++;
      continue;
    }
    const empty = (v: string | undefined): string | null => (v === undefined || v === '' ? null : v);
    const bar = rowToBar(
      {
        open: empty(cell('open')),
        high: empty(cell('high')),
        low: empty(cell('low')),
        close: empty(cell('close')),
        volume: empty(cell('volume')),
      },
      { symbol, timeframe, ts, source: 'replay' },
      stats,
    );
    if (bar) out.push(bar);
  }
  return out;
}
