import { BAR_TUPLE_WIDTH, barFromTuple, writeBarTuple } from '@pipeline/core';
import { makeBar } from '../test/helpers';
import { PendingRows, decodeRows } from './pending-rows';
import {
  ROW_WIDTH,
  STRING_COLUMNS,
  encodeBarList,
  encodeRows,
  encodeStorableBars,
  putRow,
} from './row-encoding';
import { barProblem } from './schema';

const bars = [
  makeBar(0, { final: false, source: 'polygon', quality: 0.5 }),
  makeBar(1, { symbol: 'XAUUSD' }),
  makeBar(2, {}, '5m'),
];

/** What the writer thread does: string columns back from the table, the rest as is. */
function decode(data: Float64Array, strings: string[]): unknown[] {
  return Array.from(data, (v, i) => (STRING_COLUMNS.includes(i % ROW_WIDTH) ? strings[v] : v));
}

/** The bars as flat rows, the way the inline writer binds them. */
function flatRows(list: readonly (typeof bars)[number][]): unknown[] {
  const flat: unknown[] = [];
  list.forEach((bar, i) => putRow(flat, i * ROW_WIDTH, bar));
  return flat;
}

it('lays rows out as core bar tuples with final as 0/1', () => {
  expect(ROW_WIDTH).toBe(BAR_TUPLE_WIDTH);
  const expected: unknown[] = [];
  bars.forEach((bar, i) => writeBarTuple(expected, i * ROW_WIDTH, bar, true));
  expect(flatRows(bars)).toEqual(expected);
  expect(barFromTuple(flatRows(bars))).toEqual(bars[0]);
});

it('packs the pending buffer exactly as encodeRows packs its flat rows, and both decode to the rows', () => {
  const pending = new PendingRows();
  for (const bar of bars) pending.set(bar);
  expect(pending.flat()).toEqual(flatRows(bars));
  const taken = pending.take();
  const fromRows = encodeRows(flatRows(bars));
  expect(taken.strings).toEqual(fromRows.strings);
  expect(Array.from(taken.data.subarray(0, taken.rows * ROW_WIDTH))).toEqual(Array.from(fromRows.data));
  expect(decodeRows(taken)).toEqual(flatRows(bars));
  expect(decode(taken.data.slice(0, taken.rows * ROW_WIDTH), taken.strings)).toEqual(flatRows(bars));
  expect(taken.strings).toEqual(['EURUSD', '1m', 'polygon', 'XAUUSD', 'yahoo', '5m']);
});

it('packs a bar list (encodeBarList, the backfill path) exactly as flat rows, strings repeated or not', () => {
  const bars = [
    makeBar(0),
    makeBar(1),
    makeBar(2, { symbol: 'XAUUSD', source: 'polygon' }),
    makeBar(3),
    makeBar(4, {}, '5m'),
  ];
  const flat: unknown[] = [];
  bars.forEach((bar, i) => writeBarTuple(flat, i * ROW_WIDTH, bar, true));
  const fromList = encodeBarList(bars);
  const fromRows = encodeRows(flat);
  expect(fromList.strings).toEqual(fromRows.strings);
  expect(Array.from(fromList.data)).toEqual(Array.from(fromRows.data));
  expect(decode(fromList.data, fromList.strings)).toEqual(flat);
});

it('checks while it packs (encodeStorableBars): the same rows as encodeBarList when every bar is storable, else null exactly where barProblem finds one', () => {
  const good = [
    makeBar(0),
    makeBar(1),
    makeBar(2, { symbol: 'XAUUSD', source: 'polygon' }),
    makeBar(3, {}, '5m'),
  ];
  const packed = encodeStorableBars(good);
  const list = encodeBarList(good);
  expect(packed?.strings).toEqual(list.strings);
  expect(Array.from(packed?.data ?? [])).toEqual(Array.from(list.data));
  const bad: Record<string, unknown>[] = [
    { symbol: '' },
    { symbol: 7 },
    { timeframe: '2m' },
    { ts: 1.5 },
    { ts: Number.MAX_SAFE_INTEGER + 2 },
    { open: NaN },
    { high: Infinity },
    { low: '1' },
    { close: null },
    { volume: -1 },
    { volume: NaN },
    { source: '' },
    { final: 1 },
    { quality: undefined },
  ];
  for (const change of bad) {
    // The bad bar after good ones of the same series: a string equal to the previous row's is not
    // checked again, a different one is.
    const bars: unknown[] = [makeBar(0), makeBar(1), { ...makeBar(2), ...change }, makeBar(3)];
    expect(barProblem(bars[2])).not.toBeNull();
    expect(encodeStorableBars(bars)).toBeNull();
  }
  for (const notABar of [null, 3, 'bar', [makeBar(0)]]) {
    expect(barProblem(notABar)).not.toBeNull();
    expect(encodeStorableBars([makeBar(0), notABar])).toBeNull();
  }
});
