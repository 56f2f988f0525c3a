import { BarBuffer, barFromTuple, type Bar, type SourceName, type Timeframe } from '@pipeline/core';
import { makeBar } from '../test/helpers';
import { PendingRows, barAt, decodeRows, type PackedRows } from './pending-rows';
import { ROW_WIDTH, encodeRows } from './row-encoding';

const keyOf = (b: Pick<Bar, 'symbol' | 'timeframe' | 'ts'>) => `${b.symbol}|${b.timeframe}|${b.ts}`;

/** The bars of packed rows, by key. */
function byKey(rows: PackedRows): Map<string, Bar> {
  const out = new Map<string, Bar>();
  for (let r = 0; r < rows.rows; r++) {
    const bar = barAt(rows, r);
    expect(out.has(keyOf(bar))).toBe(false); // one row per key
    out.set(keyOf(bar), bar);
  }
  return out;
}

it('replaces a buffered key (the forming bar), keeps the values it was given, and adds a row per new key', () => {
  const pending = new PendingRows();
  const forming = makeBar(0, { final: false, close: 1.1 });
  pending.set(forming);
  forming.close = 9; // a caller changing its object later does not change the row
  pending.set(makeBar(1));
  pending.set(makeBar(0, { final: true, close: 1.2, source: 'polygon' })); // the first key again
  pending.set(makeBar(2)); // a third key of the series: its map of further keys
  pending.set(makeBar(1, { close: 1.3 })); // the second key again, found in that map
  expect(pending.size).toBe(3);
  expect(pending.has('EURUSD', '1m', makeBar(0).ts)).toBe(true);
  expect(pending.has('EURUSD', '1m', makeBar(3).ts)).toBe(false);
  expect(pending.has('EURUSD', '5m', makeBar(0).ts)).toBe(false);
  expect(pending.has('XAUUSD', '1m', makeBar(0).ts)).toBe(false);
  const rows = pending.take();
  expect(rows.rows).toBe(3);
  expect([...byKey(rows).values()]).toEqual([
    makeBar(0, { final: true, close: 1.2, source: 'polygon' }),
    makeBar(1, { close: 1.3 }),
    makeBar(2),
  ]);
  // Empty afterwards; the series are known still, and their keys count again from nothing.
  expect(pending.size).toBe(0);
  expect(pending.has('EURUSD', '1m', makeBar(0).ts)).toBe(false);
  pending.set(makeBar(1, { close: 2 }));
  pending.set(makeBar(0, { close: 3 }));
  pending.set(makeBar(1, { close: 4 }));
  const next = pending.take();
  expect([...byKey(next).values()]).toEqual([makeBar(1, { close: 4 }), makeBar(0, { close: 3 })]);
  // The first batch's array was handed over and is not written to again.
  expect([...byKey(rows).values()][0]).toEqual(makeBar(0, { final: true, close: 1.2, source: 'polygon' }));
});

it('holds what core BarBuffer holds, over many series, timeframes, sources and batches (grows past its first capacity)', () => {
  const pending = new PendingRows();
  let reference = new BarBuffer();
  const symbols = ['EURUSD', 'XAUUSD', 'GBPUSD', 'BTCUSD', 'SPY'];
  const frames: Timeframe[] = ['1m', '5m', '1h'];
  const sources: SourceName[] = ['yahoo', 'polygon', 'synthetic'];
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let batch = 0; batch < 6; batch++) {
    const writes = batch === 2 ? 3000 : 200 + rand(200);
    for (let w = 0; w < writes; w++) {
      const bar = makeBar(
        batch === 2 ? w : rand(40),
        {
          symbol: symbols[rand(symbols.length)] as string,
          source: sources[rand(sources.length)] as SourceName,
          final: rand(2) === 1,
          quality: rand(100) / 100,
          close: 1 + rand(1000) / 1000,
        },
        frames[rand(frames.length)],
      );
      pending.set(bar);
      reference.set(bar);
      expect(pending.size).toBe(reference.size);
    }
    for (const bar of reference.values()) expect(pending.has(bar.symbol, bar.timeframe, bar.ts)).toBe(true);
    // Inline mode writes the buffer as flat rows: the same rows as the taken batch.
    const flat = pending.flat();
    const rows = pending.take();
    expect(flat).toEqual(decodeRows(rows));
    const got = byKey(rows);
    const want = new Map([...reference.values()].map((b) => [keyOf(b), b]));
    expect(got).toEqual(want);
    // Strings once per batch: each symbol, timeframe and source that the batch holds.
    const used = new Set([...want.values()].flatMap((b) => [b.symbol, b.timeframe, b.source]));
    expect(new Set(rows.strings)).toEqual(used);
    expect(rows.strings.length).toBe(used.size);
    // The writer thread's packing of the same flat rows decodes to the same bars.
    const decoded = decodeRows(rows);
    const packed = encodeRows(decoded);
    for (let r = 0; r < rows.rows; r++)
      expect(barFromTuple(decoded, r * ROW_WIDTH)).toEqual(barAt(packed, r));
    reference = new BarBuffer();
  }
});

it('clear() drops the rows; restore() gives back the rows of a taken batch that its filter keeps', () => {
  const pending = new PendingRows();
  pending.set(makeBar(0));
  pending.set(makeBar(1));
  pending.set(makeBar(2, { symbol: 'XAUUSD' }));
  const failed = pending.take();
  // Written meanwhile: a newer version of one of the failed keys, and a new key.
  pending.set(makeBar(1, { close: 7 }));
  pending.set(makeBar(3));
  pending.restore(failed, (symbol, tf, ts) => !pending.has(symbol, tf, ts) && symbol !== 'XAUUSD');
  expect(pending.size).toBe(3);
  expect([...byKey(pending.take()).values()]).toEqual([makeBar(1, { close: 7 }), makeBar(3), makeBar(0)]);
  pending.set(makeBar(0));
  pending.clear();
  expect(pending.size).toBe(0);
  expect(pending.has('EURUSD', '1m', makeBar(0).ts)).toBe(false);
  expect(pending.flat()).toEqual([]);
});
