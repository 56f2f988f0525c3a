import { readFixture } from '@pipeline/test-utils';
import { createFetcherStats } from '../base/stats';
import { decodePolygonBody, parsePolygonAggs, polygonMaxRangeMs, polygonTimeToMs } from './parse';

describe('Polygon parsers', () => {
  it('accepts the non-"OK" success status of the v3 quotes recording and exposes its next_url', () => {
    const text = readFixture('polygon/v3-quotes-SPY-limit-50-with-next_url.json');
    const obj = decodePolygonBody(200, text, { now: 0 });
    expect(obj.status).toBe('POLYFEEDPLUS');
    const stats = createFetcherStats();
    // quotes are not aggregates: every result lacks o/h/l/c and is counted, not turned into a bar
    const parsed = parsePolygonAggs(obj, { symbol: 'SPY', timeframe: '1m', ticker: 'SPY' }, stats);
    expect(parsed.bars).toEqual([]);
    expect(stats.nullRowsSkipped).toBe(50);
    expect(parsed.nextUrl).toMatch(/^https:\/\/api\.polygon\.io\/v3\/quotes\/SPY\?cursor=YXA9/);
  });

  it('reads ns and ms epochs', () => {
    expect(polygonTimeToMs(1651179319310617300)).toBe(1651179319310);
    expect(polygonTimeToMs(1651180409688)).toBe(1651180409688);
  });

  it('sizes request windows in base aggregates', () => {
    expect(polygonMaxRangeMs('1m')).toBe(50_000 * 60_000);
    expect(polygonMaxRangeMs('15m')).toBe(50_000 * 60_000);
    expect(polygonMaxRangeMs('4h')).toBe(50_000 * 3_600_000);
    expect(polygonMaxRangeMs('1s')).toBe(50_000 * 1_000);
  });
});
