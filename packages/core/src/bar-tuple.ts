// A bar as 11 positional values: the column order of the stores' `bars` tables and of the Redis
// fan-out's wire format. One definition, so that a field added or moved changes every encoding at once.
import { type Bar, type SourceName, type Timeframe } from './bar';

/** Field names in tuple order (also the SQL column order of the bar tables). */
export const BAR_TUPLE_FIELDS = Object.freeze([
  'symbol',
  'timeframe',
  'ts',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'source',
  'final',
  'quality',
] as const);

/** Values per bar in a tuple or a flat row array. */
export const BAR_TUPLE_WIDTH = 11;

/** Position of each field in the tuple, e.g. `BAR_TUPLE_INDEX.ts === 2`. */
export const BAR_TUPLE_INDEX = Object.freeze(
  Object.fromEntries(BAR_TUPLE_FIELDS.map((name, i) => [name, i])) as {
    readonly [K in (typeof BAR_TUPLE_FIELDS)[number]]: number;
  },
);

/** A bar as a tuple, in {@link BAR_TUPLE_FIELDS} order. */
export type BarTuple = [
  symbol: string,
  timeframe: Timeframe,
  ts: number,
  open: number,
  high: number,
  low: number,
  close: number,
  volume: number,
  source: SourceName,
  final: boolean,
  quality: number,
];

/** The bar as a tuple (`final` a boolean, as msgpack and JSON carry it). */
export function barToTuple(bar: Bar): BarTuple {
  return [
    bar.symbol,
    bar.timeframe,
    bar.ts,
    bar.open,
    bar.high,
    bar.low,
    bar.close,
    bar.volume,
    bar.source,
    bar.final,
    bar.quality,
  ];
}

/**
 * Writes the bar's 11 values at `target[offset .. offset + 10]` (a flat row array of many bars, as
 * bound to a multi-row INSERT). `finalAsInteger` writes `final` as 1/0 for SQL engines without a boolean.
 */
export function writeBarTuple(target: unknown[], offset: number, bar: Bar, finalAsInteger = false): void {
  target[offset] = bar.symbol;
  target[offset + 1] = bar.timeframe;
  target[offset + 2] = bar.ts;
  target[offset + 3] = bar.open;
  target[offset + 4] = bar.high;
  target[offset + 5] = bar.low;
  target[offset + 6] = bar.close;
  target[offset + 7] = bar.volume;
  target[offset + 8] = bar.source;
  target[offset + 9] = finalAsInteger ? (bar.final ? 1 : 0) : bar.final;
  target[offset + 10] = bar.quality;
}

/**
 * The bar held at `tuple[offset .. offset + 10]`; `final` is true for `true` or `1`. Trusts the
 * values (rows this code wrote): check foreign input before.
 */
export function barFromTuple(tuple: ArrayLike<unknown>, offset = 0): Bar {
  const final = tuple[offset + 9];
  return {
    symbol: tuple[offset] as string,
    timeframe: tuple[offset + 1] as Timeframe,
    ts: tuple[offset + 2] as number,
    open: tuple[offset + 3] as number,
    high: tuple[offset + 4] as number,
    low: tuple[offset + 5] as number,
    close: tuple[offset + 6] as number,
    volume: tuple[offset + 7] as number,
    source: tuple[offset + 8] as SourceName,
    final: final === true || final === 1,
    quality: tuple[offset + 10] as number,
  };
}
