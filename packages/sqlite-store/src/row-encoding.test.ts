import { BAR_TUPLE_WIDTH, BarBuffer, barFromTuple, writeBarTuple } from '@pipeline/core';
import { makeBar } from '../test/helpers';
import { ROW_WIDTH, STRING_COLUMNS, encodeBarList, encodeBars, encodeRows, flatten } from './row-encoding';

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
