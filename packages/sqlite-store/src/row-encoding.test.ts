import { BAR_TUPLE_WIDTH, BarBuffer, barFromTuple, writeBarTuple } from '@pipeline/core';
import { makeBar } from '../test/helpers';
import {
  ROW_WIDTH,
  STRING_COLUMNS,
  encodeBarList,
  encodeBars,
  encodeRows,
  encodeStorableBars,
  flatten,
} from './row-encoding';
import { barProblem } from './schema';

const buffer = new BarBuffer();
buffer.set(makeBar(0, { final: false, source: 'polygon', quality: 0.5 }));
buffer.set(makeBar(1, { symbol: 'XAUUSD' }));
buffer.set(makeBar(2, {}, '5m'));

/** What the writer thread does: string columns back from the table, the rest as is. */
function decode(data: Float64Array, strings: string[]): unknown[] {
  return Array.from(data, (v, i) => (STRING_COLUMNS.includes(i % ROW_WIDTH) ? strings[v] : v));
}

it('lays rows out as core bar tuples with final as 0/1', () => {
  expect(ROW_WIDTH).toBe(BAR_TUPLE_WIDTH);
  const expected: unknown[] = [];
  let o = 0;
  for (const bar of buffer.values()) {
    writeBarTuple(expected, o, bar, true);
    o += ROW_WIDTH;
  }
  expect(flatten(buffer)).toEqual(expected);
  expect(barFromTuple(flatten(buffer))).toEqual(
    makeBar(0, { final: false, source: 'polygon', quality: 0.5 }),
  );
});

it('packs the buffer (encodeBars) exactly as it packs flat rows (encodeRows), and both decode to the rows', () => {
  const fromBuffer = encodeBars(buffer);
  const fromRows = encodeRows(flatten(buffer));
  expect(fromBuffer.strings).toEqual(fromRows.strings);
  expect(Array.from(fromBuffer.data)).toEqual(Array.from(fromRows.data));
  expect(decode(fromBuffer.data, fromBuffer.strings)).toEqual(flatten(buffer));
  expect(fromBuffer.strings).toEqual(['EURUSD', '1m', 'polygon', 'XAUUSD', 'yahoo', '5m']);
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
