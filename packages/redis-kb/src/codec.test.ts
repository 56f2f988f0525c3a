import { decode as plainMsgpackDecode } from 'msgpackr';
import { decodeBar, decodeFanoutBars, encodeBar, encodeFanoutBars } from './codec';
import { bar } from './hot-cache.contract';
import { cacheIssue, createKeyLayout, isCacheableSymbol } from './keys';

describe('bar codec', () => {
  it('packs a bar as a plain 9-element msgpack array with ts first (what the Lua script reads)', () => {
    const b = bar(3, { final: false, quality: 0.25, source: 'twelvedata' });
    const buf = encodeBar(b);
    expect(buf[0]).toBe(0x99); // msgpack fixarray of 9: no msgpackr record extension
    expect(plainMsgpackDecode(buf)).toEqual([
      b.ts,
      b.open,
      b.high,
      b.low,
      b.close,
      b.volume,
      'twelvedata',
      false,
      0.25,
    ]);
    expect(decodeBar(buf, b.symbol, b.timeframe)).toEqual(b);
    // 1 (array header) + 5 x 9 (float64 ts and prices) + 1 (small int volume) + 11 (source) + 1 (bool) + 9 (quality)
    expect(buf.length).toBe(68);
  });

  it('refuses to decode something that is not a packed bar', () => {
    expect(() => decodeBar(Buffer.from([0x92, 0x01, 0x02]), 'EURUSD', '1m')).toThrow(/not a packed bar/);
  });

  it('round-trips a fan-out batch with symbol and timeframe', () => {
    const bars = [bar(1), bar(2, { symbol: 'XAUUSD', timeframe: '5m' })];
    expect(decodeFanoutBars(encodeFanoutBars(bars))).toEqual(bars);
  });
});

describe('keys', () => {
  it('puts the symbol in a hash tag under the prefix', () => {
    const k = createKeyLayout('pipeline:');
    expect(k.bars('EURUSD', '1m')).toBe('pipeline:bars:{EURUSD}:1m');
    expect(k.features('EURUSD')).toBe('pipeline:features:{EURUSD}');
    expect(k.signal('EURUSD')).toBe('pipeline:signal:{EURUSD}');
    expect(k.stream('bars')).toBe('pipeline:stream:bars');
  });

  it('accepts only symbols that keep the hash tag intact', () => {
    expect(['EURUSD', 'BRK.B', '^GSPC', 'ES=F'].every(isCacheableSymbol)).toBe(true);
    expect(['', 'A}B', '{A', 'A B', 'X'.repeat(65), 42].some(isCacheableSymbol)).toBe(false);
    expect(cacheIssue(bar(0))).toBeNull();
    expect(cacheIssue(bar(0, { ts: 1.5 }))).toMatch(/bad ts/);
    expect(cacheIssue(bar(0, { source: 7 as never }))).toMatch(/bad source/);
  });
});
