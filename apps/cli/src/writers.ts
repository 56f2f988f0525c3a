import { createWriteStream } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import {
  Bool,
  Float64,
  Table,
  TimestampMillisecond,
  Utf8,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { type Bar } from '@pipeline/core';

/** Columns of the CSV and Parquet files, in order. `time` (CSV only) is `ts` as ISO 8601 UTC. */
export const CSV_COLUMNS = [
  'symbol',
  'timeframe',
  'ts',
  'time',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'source',
  'final',
  'quality',
] as const;

const csvField = (v: string): string => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export function barToCsvLine(b: Bar): string {
  return [
    csvField(b.symbol),
    b.timeframe,
    String(b.ts),
    new Date(b.ts).toISOString(),
    String(b.open),
    String(b.high),
    String(b.low),
    String(b.close),
    String(b.volume),
    b.source,
    b.final ? 'true' : 'false',
    String(b.quality),
  ].join(',');
}

/**
 * Writes bars to a CSV file: written to `<path>.tmp` and renamed, so the file at `path` is always
 * complete. Pages come from an async iterable so that any number of bars streams through.
 */
export async function writeCsv(path: string, pages: AsyncIterable<readonly Bar[]>): Promise<number> {
  const tmp = `${path}.tmp`;
  const out = createWriteStream(tmp);
  let rows = 0;
  const write = async (chunk: string) => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  try {
    await write(CSV_COLUMNS.join(',') + '\n');
    for await (const page of pages) {
      if (page.length === 0) continue;
      await write(page.map(barToCsvLine).join('\n') + '\n');
      rows += page.length;
    }
    out.end();
    await once(out, 'finish');
  } catch (err) {
    out.destroy();
    throw err;
  }
  await rename(tmp, path);
  return rows;
}

/**
 * Writes bars to a Parquet file (zstd-compressed, one row group per 64k rows) through parquet-wasm,
 * via `<path>.tmp` and a rename. `ts` is a UTC millisecond timestamp column; prices are doubles. The
 * whole table is built in memory first (about 100 bytes per bar).
 */
export async function writeParquet(path: string, pages: AsyncIterable<readonly Bar[]>): Promise<number> {
  const cols = {
    symbol: [] as string[],
    timeframe: [] as string[],
    ts: [] as number[],
    open: [] as number[],
    high: [] as number[],
    low: [] as number[],
    close: [] as number[],
    volume: [] as number[],
    source: [] as string[],
    final: [] as boolean[],
    quality: [] as number[],
  };
  for await (const page of pages) {
    for (const b of page) {
      cols.symbol.push(b.symbol);
      cols.timeframe.push(b.timeframe);
      cols.ts.push(b.ts);
      cols.open.push(b.open);
      cols.high.push(b.high);
      cols.low.push(b.low);
      cols.close.push(b.close);
      cols.volume.push(b.volume);
      cols.source.push(b.source);
      cols.final.push(b.final);
      cols.quality.push(b.quality);
    }
  }
  const table = new Table({
    symbol: vectorFromArray(cols.symbol, new Utf8()),
    timeframe: vectorFromArray(cols.timeframe, new Utf8()),
    ts: vectorFromArray(cols.ts, new TimestampMillisecond('UTC')),
    open: vectorFromArray(cols.open, new Float64()),
    high: vectorFromArray(cols.high, new Float64()),
    low: vectorFromArray(cols.low, new Float64()),
    close: vectorFromArray(cols.close, new Float64()),
    volume: vectorFromArray(cols.volume, new Float64()),
    source: vectorFromArray(cols.source, new Utf8()),
    final: vectorFromArray(cols.final, new Bool()),
    quality: vectorFromArray(cols.quality, new Float64()),
  });
  const props = new parquet.WriterPropertiesBuilder()
    .setCompression(parquet.Compression.ZSTD)
    .setMaxRowGroupSize(65_536)
    .build();
  const bytes = parquet.writeParquet(parquet.Table.fromIPCStream(tableToIPC(table, 'stream')), props);
  const tmp = `${path}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
  return cols.ts.length;
}

/** Reads a Parquet file written by {@link writeParquet} back into bars (tests, round trips). */
export async function readParquet(path: string): Promise<Bar[]> {
  const bytes = await readFile(path);
  const table = tableFromIPC(parquet.readParquet(new Uint8Array(bytes)).intoIPCStream());
  const bars: Bar[] = [];
  for (const row of table) {
    const r = row.toJSON() as Record<string, unknown>;
    bars.push({
      symbol: String(r.symbol),
      timeframe: String(r.timeframe) as Bar['timeframe'],
      ts: Number(r.ts),
      open: Number(r.open),
      high: Number(r.high),
      low: Number(r.low),
      close: Number(r.close),
      volume: Number(r.volume),
      source: String(r.source) as Bar['source'],
      final: Boolean(r.final),
      quality: Number(r.quality),
    });
  }
  return bars;
}
