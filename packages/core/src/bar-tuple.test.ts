import {
  BAR_TUPLE_FIELDS,
  BAR_TUPLE_INDEX,
  BAR_TUPLE_WIDTH,
  barFromTuple,
  barToTuple,
  writeBarTuple,
} from './bar-tuple';
import { type Bar } from './bar';

const bar: Bar = {
  symbol: 'EURUSD',
  timeframe: '1m',
  ts: Date.UTC(2024, 0, 2),
  open: 1.1,
  high: 1.2,
  low: 1.05,
  close: 1.15,
  volume: 3,
  source: 'yahoo',
  final: false,
  quality: 0.5,
};

it('orders the fields as the stores and the fan-out expect', () => {
  expect(BAR_TUPLE_FIELDS).toEqual([
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
  ]);
  expect(BAR_TUPLE_WIDTH).toBe(BAR_TUPLE_FIELDS.length);
  expect(BAR_TUPLE_INDEX.ts).toBe(2);
  expect(BAR_TUPLE_INDEX.source).toBe(8);
  // Every field of a Bar is in the tuple, nothing else.
  expect([...BAR_TUPLE_FIELDS].sort()).toEqual(Object.keys(bar).sort());
  expect(barToTuple(bar)).toEqual(BAR_TUPLE_FIELDS.map((f) => bar[f]));
});

it('round-trips a bar through a tuple and through a flat row array', () => {
  expect(barFromTuple(barToTuple(bar))).toEqual(bar);
  const flat: unknown[] = [];
  writeBarTuple(flat, 0, bar, true);
  writeBarTuple(flat, BAR_TUPLE_WIDTH, { ...bar, final: true, ts: bar.ts + 60_000 }, true);
  expect(flat).toHaveLength(2 * BAR_TUPLE_WIDTH);
  expect(flat[9]).toBe(0);
  expect(flat[20]).toBe(1);
  expect(barFromTuple(flat)).toEqual(bar);
  expect(barFromTuple(flat, BAR_TUPLE_WIDTH)).toEqual({ ...bar, final: true, ts: bar.ts + 60_000 });
  const booleans: unknown[] = [];
  writeBarTuple(booleans, 0, bar);
  expect(booleans[9]).toBe(false);
});
