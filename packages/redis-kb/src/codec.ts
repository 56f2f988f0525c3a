import { barFromTuple, barToTuple, type Bar, type SourceName, type Timeframe } from '@pipeline/core';
import { Packr } from 'msgpackr';

/**
 * Plain msgpack (no records/structures extension): Redis' Lua decodes it with `cmsgpack.unpack`,
 * which the write script needs to read `ts`. Any msgpack library in any language decodes it too.
 */
const packr = new Packr({ useRecords: false, moreTypes: false });

/**
 * A cached bar is the array `[ts, open, high, low, close, volume, source, final, quality]`: about 55
 * bytes. `ts` comes first because the Lua script reads it; symbol and timeframe are in the key.
 */
export type PackedBar = [number, number, number, number, number, number, string, boolean, number];

export function encodeBar(bar: Bar): Buffer {
  return packr.pack([
    bar.ts,
    bar.open,
    bar.high,
    bar.low,
    bar.close,
    bar.volume,
    bar.source,
    bar.final,
    bar.quality,
  ]);
}

export function decodeBar(buf: Buffer | Uint8Array, symbol: string, timeframe: Timeframe): Bar {
  const a = packr.unpack(buf) as PackedBar;
  if (!Array.isArray(a) || a.length !== 9 || typeof a[0] !== 'number') {
    throw new TypeError(`not a packed bar: ${JSON.stringify(a)}`);
  }
  return {
    symbol,
    timeframe,
    ts: a[0],
    open: a[1],
    high: a[2],
    low: a[3],
    close: a[4],
    volume: a[5],
    source: a[6] as SourceName,
    final: a[7],
    quality: a[8],
  };
}

/** Packs any msgpack-serialisable value (feature sets, signals). */
export function encodeValue(value: unknown): Buffer {
  return packr.pack(value);
}

export function decodeValue<T>(buf: Buffer | Uint8Array): T {
  return packr.unpack(buf) as T;
}

/**
 * The `bars` field of a fan-out stream entry: one msgpack array holding every bar one write
 * accepted, each as core's 11-value bar tuple `[symbol, timeframe, ts, open, high, low, close, volume,
 * source, final, quality]` (`BAR_TUPLE_FIELDS`).
 */
export function encodeFanoutBars(bars: readonly Bar[]): Buffer {
  return packr.pack(bars.map(barToTuple));
}

/** Decodes the `bars` field of a `<prefix>stream:bars` entry (see {@link encodeFanoutBars}). */
export function decodeFanoutBars(buf: Buffer | Uint8Array): Bar[] {
  const rows = packr.unpack(buf) as unknown[][];
  if (!Array.isArray(rows)) throw new TypeError('not a packed bar batch');
  return rows.map((r) => barFromTuple(r));
}
