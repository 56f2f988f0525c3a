import { ManualClock, TIMEFRAME_MS } from '@pipeline/core';
import { createSymbolMapper } from '@pipeline/symbol-mapper';
import { createFetcherStats } from '../base/stats';
import { failure } from '../testing/failure';
import { useFixtureServer } from '../testing/use-fixture-server';
import { ownFixtureReply, readOwnFixture } from '../testing/own-fixtures';
import { createAlphaVantageFetcher, type AlphaVantageFetcher } from './fetcher';
import { parseAvCsv } from './parse';

const KEY = 'AVKEY-SECRET-42';
const mapper = createSymbolMapper();
// 2025-03-14 is a Friday in EDT (UTC-4): 04:00 ET = 08:00Z.
const et = (h: number, m: number): number => Date.UTC(2025, 2, 14, h + 4, m);

describe("Alpha Vantage in today's shapes (hand-made recordings, fixtures/PROVENANCE.md)", () => {
  const { srv, track } = useFixtureServer(() => ({ status: 500 }));
  const make = (now: number, extra: object = {}): { av: AlphaVantageFetcher; clock: ManualClock } => {
    const clock = new ManualClock(now);
    const av = track(
      createAlphaVantageFetcher({
        apiKey: KEY,
        baseUrl: srv.url,
        clock,
        symbolMapper: mapper,
        timeoutMs: 1_000,
        ...extra,
      }),
    );
    return { av, clock };
  };

  it('extended-hours 5min JSON: 04:00..19:55 ET are bar opens, the auction volume stays in the 16:00 bar', async () => {
    srv.setHandler(() =>
      ownFixtureReply('alphavantage/time_series_intraday-IBM-5min-2025-03-14-extended-hours.json'),
    );
    const { av } = make(Date.UTC(2025, 2, 15, 12));
    const bars = await av.fetchLatest({ symbol: 'IBM', timeframe: '5m', limit: 500 });
    expect(bars).toHaveLength(192);
    expect(bars[0]!.ts).toBe(et(4, 0));
    expect(bars.at(-1)!.ts).toBe(et(19, 55));
    expect(bars.every((b, i) => i === 0 || b.ts - bars[i - 1]!.ts === TIMEFRAME_MS['5m'])).toBe(true);
    const auction = bars.find((b) => b.ts === et(16, 0))!;
    expect(auction.volume).toBe(1843227);
    expect(Math.max(...bars.map((b) => b.volume))).toBe(auction.volume);
    expect(bars.every((b) => b.final)).toBe(true);
  });

  it("`intradayStamp: 'end'` (archived era) would move the same series one bar early", async () => {
    srv.setHandler(() =>
      ownFixtureReply('alphavantage/time_series_intraday-IBM-5min-2025-03-14-extended-hours.json'),
    );
    const { av } = make(Date.UTC(2025, 2, 15, 12), { intradayStamp: 'end' });
    const bars = await av.fetchLatest({ symbol: 'IBM', timeframe: '5m', limit: 500 });
    expect([bars[0]!.ts, bars.at(-1)!.ts]).toEqual([et(3, 55), et(19, 50)]);
  });

  it('regular-hours 15min CSV: the 09:30 row is the 09:30 bar, oldest first, 09:30..15:45', () => {
    const stats = createFetcherStats();
    const bars = parseAvCsv(
      readOwnFixture('alphavantage/time_series_intraday-AAPL-15min-2025-03-14-regular-hours.csv'),
      { symbol: 'AAPL', timeframe: '15m', stamp: 'start', stats, timeZone: 'US/Eastern' },
    );
    expect(bars).toHaveLength(26);
    expect(bars[0]).toMatchObject({ ts: et(9, 30), open: 212.5, source: 'alphavantage' });
    expect(bars.at(-1)!.ts).toBe(et(15, 45));
    expect(bars.every((b, i) => i === 0 || b.ts > bars[i - 1]!.ts)).toBe(true);
    expect(stats.partialRowsSkipped).toBe(0);
  });

  it('the per-second burst notice: rate_limited for about a second, nothing spent for the day', async () => {
    srv.setHandler(() => ownFixtureReply('alphavantage/notice-burst-1-per-second.json'));
    const { av, clock } = make(Date.UTC(2025, 2, 14, 15));
    const err = await failure(av.fetchLatest({ symbol: 'IBM', timeframe: '5m' }));
    expect([err.kind, err.retryAfterMs]).toEqual(['rate_limited', 1_000]);
    expect(av.budget().perDayLeft).toBe(24);
    expect(av.budget().blockedUntil).toBe(clock.now() + 1_000);
    // After the pause the source is asked again (and answers with data).
    srv.setHandler(() =>
      ownFixtureReply('alphavantage/time_series_intraday-IBM-5min-2025-03-14-extended-hours.json'),
    );
    // The 1 s pause is inside the local per-second window (1.25 s with its margin): go past both.
    clock.advance(1_250);
    expect((await av.fetchLatest({ symbol: 'IBM', timeframe: '5m' })).length).toBeGreaterThan(0);
    expect(av.budget().perDayLeft).toBe(23);
  });

  it('the daily-quota notice: rate_limited until 00:00 UTC, perDayLeft 0, the key scrubbed from the text', async () => {
    srv.setHandler(() => ownFixtureReply('alphavantage/notice-daily-quota-25-per-day.json'));
    const { av } = make(Date.UTC(2025, 2, 14, 18));
    const err = await failure(av.fetchLatest({ symbol: 'IBM', timeframe: '5m' }));
    expect([err.kind, err.retryAfterMs]).toEqual(['rate_limited', 6 * 3_600_000]);
    expect(av.budget().perDayLeft).toBe(0);
    expect(JSON.stringify({ m: err.message, e: err })).not.toContain(KEY);
    const sent = srv.requests.length;
    expect((await failure(av.fetchLatest({ symbol: 'IBM', timeframe: '5m' }))).kind).toBe('rate_limited');
    expect(srv.requests.length).toBe(sent);
  });

  it('a premium-only parameter value: not_supported, no breaker count, no pause', async () => {
    srv.setHandler(() => ownFixtureReply('alphavantage/notice-premium-parameter-outputsize-full.json'));
    const { av } = make(Date.UTC(2025, 2, 14, 18));
    const err = await failure(
      av.fetchHistory({
        symbol: 'IBM',
        timeframe: '1d',
        from: Date.UTC(2024, 0, 1),
        to: Date.UTC(2025, 0, 1),
      }),
    );
    expect([err.kind, err.countsForBreaker]).toEqual(['not_supported', false]);
    expect(av.budget().blockedUntil).toBeNull();
  });

  it('the demo-key notice: auth', async () => {
    srv.setHandler(() => ownFixtureReply('alphavantage/notice-demo-key.json'));
    const { av } = make(Date.UTC(2025, 2, 14, 18));
    const err = await failure(av.fetchLatest({ symbol: 'IBM', timeframe: '5m' }));
    expect([err.kind, err.countsForBreaker]).toEqual(['auth', true]);
    expect(err.message).toMatch(/demo API key/);
  });
});
