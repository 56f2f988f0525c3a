import { createWriteStream } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import { once } from 'node:events';
import {
  Bool,
  makeVector,
  Table,
  TimestampMillisecond,
  Utf8,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { BAR_TUPLE_FIELDS, type Bar } from '@pipeline/core';

const [symbolField, timeframeField, tsField, ...valueFields] = BAR_TUPLE_FIELDS;

/**
 * Columns of the CSV and Parquet files, in order: core's bar fields (`BAR_TUPLE_FIELDS`) with `time`
 * (CSV only, `ts` as ISO 8601 UTC) after `ts`.
 */
export const CSV_COLUMNS = [symbolField, timeframeField, tsField, 'time', ...valueFields] as const;

const csvField = (v: string): string => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export function barToCsvLine(b: Bar): string {
  return CSV_COLUMNS.map((column) =>
    column === 'time'
      ? new Date(b.ts).toISOString()
      : column === 'symbol'
        ? csvField(b.symbol)
        : String(b[column]),
  ).join(',');
}

/**
 * Streams `body`'s chunks into `<path>.tmp` and renames it to `path` once complete, so the file at
 * `path` is never a partial one; on failure the temporary file's stream is destroyed.
 */
async function writeViaTmp(
  path: string,
  body: (write: (chunk: string | Uint8Array) => Promise<void>) => Promise<void>,
): Promise<void> {
  const tmp = `${path}.tmp`;
  const out = createWriteStream(tmp);
  try {
    await body(async (chunk) => {
      if (!out.write(chunk)) await once(out, 'drain');
    });
    out.end();
    await once(out, 'finish');
  } catch (err) {
    out.destroy();
    throw err;
  }
  await rename(tmp, path);
}

/**
 * Writes bars to a CSV file: written to `<path>.tmp` and renamed, so the file at `path` is always
 * complete. Pages come from an async iterable so that any number of bars streams through.
 */
export async function writeCsv(path: string, pages: AsyncIterable<readonly Bar[]>): Promise<number> {
  let rows = 0;
  await writeViaTmp(path, async (write) => {
    await write(CSV_COLUMNS.join(',') + '\n');
    for await (const page of pages) {
      if (page.length === 0) continue;
      await write(page.map(barToCsvLine).join('\n') + '\n');
      rows += page.length;
    }
  });
  return rows;
}

/** One page of bars as an Arrow table in the file's schema. */
function pageTable(page: readonly Bar[]): Table {
  const n = page.length;
  const num = (f: (b: Bar) => number) => {
    const a = new Float64Array(n);
    page.forEach((bar, i) => {
      a[i] = f(bar);
    });
    return a;
  };
  return new Table({
    symbol: vectorFromArray(
      page.map((b) => b.symbol),
      new Utf8(),
    ),
    timeframe: vectorFromArray(
      page.map((b) => b.timeframe),
      new Utf8(),
    ),
    ts: vectorFromArray(Array.from(num((b) => b.ts)), new TimestampMillisecond('UTC')),
    open: makeVector(num((b) => b.open)),
    high: makeVector(num((b) => b.high)),
    low: makeVector(num((b) => b.low)),
    close: makeVector(num((b) => b.close)),
    volume: makeVector(num((b) => b.volume)),
    source: vectorFromArray(
      page.map((b) => b.source),
      new Utf8(),
    ),
    final: vectorFromArray(
      page.map((b) => b.final),
      new Bool(),
    ),
    quality: makeVector(num((b) => b.quality)),
  });
}

/**
 * Writes bars to a Parquet file (zstd-compressed) through parquet-wasm, via `<path>.tmp` and a rename.
 * `ts` is a UTC millisecond timestamp column; prices are doubles. Streams: each page becomes a record
 * batch handed to parquet-wasm's stream writer, so memory stays bounded by the row group size, not by
 * the file.
 */
export async function writeParquet(path: string, pages: AsyncIterable<readonly Bar[]>): Promise<number> {
  let rows = 0;
  const iterator = pages[Symbol.asyncIterator]();
  const batches = new ReadableStream<parquet.RecordBatch>({
    async pull(controller) {
      for (;;) {
        const next = await iterator.next();
        if (next.done) {
          controller.close();
          return;
        }
        if (next.value.length === 0) continue;
        rows += next.value.length;
        const table = parquet.Table.fromIPCStream(tableToIPC(pageTable(next.value), 'stream'));
        for (const batch of table.recordBatches()) controller.enqueue(batch);
        return;
      }
    },
  });
  const props = new parquet.WriterPropertiesBuilder()
    .setCompression(parquet.Compression.ZSTD)
    .setMaxRowGroupSize(65_536)
    .build();
  const bytes = (await parquet.transformParquetStream(batches, props)) as ReadableStream<Uint8Array>;
  await writeViaTmp(path, async (write) => {
    for await (const chunk of bytes as unknown as AsyncIterable<Uint8Array>) await write(chunk);
  });
  return rows;
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
