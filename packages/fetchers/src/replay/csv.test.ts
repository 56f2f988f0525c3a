import { isFetchError } from '@pipeline/core';
import { createFetcherStats } from '../base/stats';
import { parseReplayCsv } from './csv';

const T0 = Date.UTC(2024, 0, 2, 10);
const defaults = { symbol: undefined, timeframe: undefined };

describe('parseReplayCsv (csv-parse: quotes, ; delimiter, BOM, CRLF)', () => {
  it('reads quoted fields, including a quoted header and a field holding the delimiter', () => {
    const stats = createFetcherStats();
    const text =
      '"ts","open","high","low","close","volume","symbol","timeframe"\n' +
      `"${new Date(T0).toISOString()}","1.1","1.2","1.0","1.15","1,000","EURUSD","1m"\n` +
      `${T0 + 60_000},1.15,1.25,1.1,1.2,"0","EURUSD","1m"\n`;
    const bars = parseReplayCsv(text, defaults, stats);
    // "1,000" is one cell (not split at its comma) but not a number: that row is skipped and counted.
    expect(bars.map((b) => [b.ts, b.close, b.symbol])).toEqual([[T0 + 60_000, 1.2, 'EURUSD']]);
    expect(stats.partialRowsSkipped).toBe(1);
  });

  it('reads a ;-delimited export with a UTF-8 BOM and CRLF line ends', () => {
    const stats = createFetcherStats();
    const text =
      '\uFEFFTS;Open;High;Low;Close;Volume\r\n' +
      `${T0};1.1;1.2;1.0;1.15;10\r\n` +
      `${T0 + 60_000};1.15;1.25;1.1;1.2;12\r\n` +
      '\r\n';
    const bars = parseReplayCsv(text, { symbol: 'EURUSD', timeframe: '1m' }, stats);
    expect(bars.map((b) => [b.ts, b.open, b.high, b.low, b.close, b.volume])).toEqual([
      [T0, 1.1, 1.2, 1.0, 1.15, 10],
      [T0 + 60_000, 1.15, 1.25, 1.1, 1.2, 12],
    ]);
    expect(stats.partialRowsSkipped + stats.nullRowsSkipped).toBe(0);
  });

  it('a quoted field may hold a line break; short rows are counted, not thrown', () => {
    const stats = createFetcherStats();
    const text =
      'ts,open,high,low,close,volume,note\n' + `${T0},1,2,0.5,1.5,3,"two\nlines"\n` + `${T0 + 60_000},1\n`;
    const bars = parseReplayCsv(text, { symbol: 'X', timeframe: '1m' }, stats);
    expect(bars).toHaveLength(1);
    expect(stats.partialRowsSkipped).toBe(1);
  });

  it('an unclosed quote is a malformed file (clear error, nothing half-read)', () => {
    let caught: unknown;
    try {
      parseReplayCsv(
        `ts,open,high,low,close\n${T0},"1,2,0.5,1.5\n`,
        { symbol: 'X', timeframe: '1m' },
        createFetcherStats(),
      );
    } catch (err) {
      caught = err;
    }
    expect(isFetchError(caught) && caught.kind).toBe('malformed');
    expect((caught as Error).message).toMatch(/not a readable CSV file/);
  });

  it('names the missing column', () => {
    expect(() => parseReplayCsv('ts;open;high;low\n1;1;1;1\n', defaults, createFetcherStats())).toThrow(
      /lacks "close".*ts;open;high;low/,
    );
  });
});
