import { createPolygonFetcher } from '../polygon/fetcher';
import { createTwelveDataFetcher } from '../twelvedata/fetcher';

// Issue 12: one spelling of the shared options across providers; the older Twelve Data / Polygon
// names stay as deprecated aliases.
describe.each([
  ['Twelve Data', (o: object) => createTwelveDataFetcher({ apiKey: 'k', ...o })],
  ['Polygon', (o: object) => createPolygonFetcher({ apiKey: 'k', ...o })],
])('%s takes latestLimit and rateLimits like every provider', (_, make) => {
  it('latestLimit, or its deprecated alias defaultLatestLimit', async () => {
    const a = make({ latestLimit: 3 });
    const b = make({ defaultLatestLimit: 3 });
    expect([a.options.latestLimit, a.options.defaultLatestLimit]).toEqual([3, 3]);
    expect([b.options.latestLimit, b.options.defaultLatestLimit]).toEqual([3, 3]);
    expect(make({}).options.latestLimit).toBe(10);
    expect(() => make({ latestLimit: 3, defaultLatestLimit: 4 })).toThrow(
      /"latestLimit" \(3\) and its deprecated alias "defaultLatestLimit" \(4\) disagree/,
    );
    expect(() => make({ latestLimit: 0 })).toThrow(/latestLimit/);
    await Promise.all([a.close(), b.close()]);
  });

  it('rateLimits (with perSecond), or the deprecated perMinute / perDay', async () => {
    const a = make({ rateLimits: { perSecond: 2, perMinute: 3, perDay: 4 } });
    expect(a.capabilities.rateLimits).toEqual({ perSecond: 2, perMinute: 3, perDay: 4 });
    expect(a.budget()).toMatchObject({ perMinuteLeft: 3, perDayLeft: 4 });
    const b = make({ perMinute: 3, perDay: null });
    expect(b.capabilities.rateLimits).toMatchObject({ perMinute: 3, perDay: null });
    expect(() => make({ rateLimits: { perMinute: 3 }, perMinute: 5 })).toThrow(
      /rateLimits.perMinute.*perMinute/,
    );
    await Promise.all([a.close(), b.close()]);
  });
});
