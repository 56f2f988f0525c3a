import { makeBar } from '../test/helpers';
import { BarBuffer } from './bar-buffer';

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
    expect([...b.values()][0].close).toBe(makeBar(0).close);
  });
});
