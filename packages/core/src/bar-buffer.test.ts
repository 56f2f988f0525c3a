import { type Bar, type Timeframe, TIMEFRAME_MS } from './bar';
import { BarBuffer } from './bar-buffer';

/** Bar `i` of a 1m (or `timeframe`) EURUSD series; only the key and `close` matter to the buffer. */
function makeBar(i: number, overrides: Partial<Bar> = {}, timeframe: Timeframe = '1m'): Bar {
  const ts = Date.UTC(2024, 0, 1) + i * TIMEFRAME_MS[timeframe];
  const close = 1.1 + i / 1000;
  return {
    symbol: 'EURUSD',
    timeframe,
    ts,
    open: close,
    high: close,
    low: close,
    close,
    volume: 0,
    source: 'yahoo',
    final: true,
    quality: 1,
    ...overrides,
  };
}

describe('BarBuffer', () => {
  it('replaces a bar with the same (symbol, timeframe, ts) and counts distinct keys', () => {
    const b = new BarBuffer();
    b.set(makeBar(0, { final: false, close: 1 }));
    b.set(makeBar(1));
    b.set(makeBar(0, { symbol: 'XAUUSD' }));
    b.set(makeBar(0, { final: true, close: 2 }));
    b.set(makeBar(0, {}, '5m'));
    expect(b.size).toBe(4);
    const eur = [...b.values()].filter((x) => x.symbol === 'EURUSD' && x.timeframe === '1m');
    expect(eur.map((x) => [x.ts, x.close, x.final])).toEqual([
      [makeBar(0).ts, 2, true],
      [makeBar(1).ts, makeBar(1).close, true],
    ]);
    expect(b.has(makeBar(0, { symbol: 'XAUUSD' }))).toBe(true);
    expect(b.has(makeBar(2))).toBe(false);
    expect(b.has(makeBar(0, { symbol: 'NAS100' }))).toBe(false);
  });

  it('keeps a copy, so a caller mutating its bar afterwards changes nothing', () => {
    const b = new BarBuffer();
    const bar = makeBar(0);
    b.set(bar);
    bar.close = Number.NaN;
    expect([...b.values()][0]!.close).toBe(makeBar(0).close);
  });

  it('keeps the caller object itself when copy is false', () => {
    const b = new BarBuffer();
    const bar = makeBar(0);
    b.set(bar, false);
    expect([...b.values()][0]).toBe(bar);
  });

  it('drains in key order (series sorted, then ts) and is empty afterwards', () => {
    const b = new BarBuffer();
    b.set(makeBar(2, { symbol: 'XAUUSD' }));
    b.set(makeBar(3));
    b.set(makeBar(1));
    b.set(makeBar(0, { symbol: 'XAUUSD' }));
    b.set(makeBar(0, { close: 9 }, '5m'));
    b.set(makeBar(3, { close: 7 }));
    const out = b.drain();
    expect(out.map((x) => [x.symbol, x.timeframe, x.ts, x.close])).toEqual([
      ['EURUSD', '1m', makeBar(1).ts, makeBar(1).close],
      ['EURUSD', '1m', makeBar(3).ts, 7],
      ['EURUSD', '5m', makeBar(0, {}, '5m').ts, 9],
      ['XAUUSD', '1m', makeBar(0).ts, makeBar(0).close],
      ['XAUUSD', '1m', makeBar(2).ts, makeBar(2).close],
    ]);
    expect(b.size).toBe(0);
    expect([...b.values()]).toEqual([]);
    expect(b.has(makeBar(1))).toBe(false);
    b.set(makeBar(1));
    expect(b.size).toBe(1);
  });
});

describe('BarBuffer columns', () => {
  it('keeps every field of a replaced bar, across growth past its first capacity', () => {
    const b = new BarBuffer();
    const bars: Bar[] = [];
    for (let i = 0; i < 500; i++) {
      bars.push(
        makeBar(i % 250, {
          symbol: i % 2 === 0 ? 'EURUSD' : 'XAUUSD',
          open: i + 0.25,
          high: i + 0.75,
          low: i - 0.5,
          close: i + 0.125,
          volume: i * 3,
          source: i % 3 === 0 ? 'polygon' : 'twelvedata',
          final: i % 5 === 0,
          quality: (i % 10) / 10,
        }),
      );
    }
    for (const bar of bars) b.set(bar);
    // The later bar with each key won: i and i + 250 share (symbol, ts) only when both are even or both odd.
    const expected = new Map<string, Bar>();
    for (const bar of bars) expected.set(`${bar.symbol} ${bar.ts}`, bar);
    expect(b.size).toBe(expected.size);
    const got = b.drain();
    expect(got).toHaveLength(expected.size);
    for (const bar of got) expect(bar).toEqual(expected.get(`${bar.symbol} ${bar.ts}`));
    expect(got.map((x) => x.symbol)).toEqual([...got.map((x) => x.symbol)].sort());
  });

  it('mixes kept objects and copied values, and sorts series by symbol then timeframe', () => {
    const b = new BarBuffer();
    const kept = makeBar(1, { symbol: 'AB' });
    b.set(makeBar(0, { symbol: 'AB' }, '5m'));
    b.set(kept, false);
    b.set(makeBar(0, { symbol: 'A' }));
    b.set(makeBar(2, { symbol: 'AB' }));
    const out = b.drain();
    expect(out.map((x) => [x.symbol, x.timeframe])).toEqual([
      ['A', '1m'],
      ['AB', '1m'],
      ['AB', '1m'],
      ['AB', '5m'],
    ]);
    expect(out[1]).toBe(kept);
    // A copied write over a kept object's key stores the new values, not the old object.
    b.set(kept, false);
    b.set({ ...kept, close: 42 });
    expect([...b.values()][0]).toEqual({ ...kept, close: 42 });
    expect([...b.values()][0]).not.toBe(kept);
  });
});

describe('BarBuffer after a drain', () => {
  it('starts the first-write order again and keeps nothing of the drained bars', () => {
    const b = new BarBuffer();
    b.set(makeBar(0));
    b.set(makeBar(0, { symbol: 'XAUUSD' }));
    expect(b.drain()).toHaveLength(2);
    b.set(makeBar(5, { symbol: 'XAUUSD', close: 3 }));
    b.set(makeBar(6));
    expect([...b.values()].map((x) => [x.symbol, x.ts, x.close])).toEqual([
      ['XAUUSD', makeBar(5).ts, 3],
      ['EURUSD', makeBar(6).ts, makeBar(6).close],
    ]);
    expect(b.has(makeBar(0))).toBe(false);
    expect(b.size).toBe(2);
  });
});
