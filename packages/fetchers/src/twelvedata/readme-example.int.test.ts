// The "Twelve Data" quick start of README.md, run against the recorded answer on a local server.
import { ManualClock } from '@pipeline/core';
import { fixtureReply, startFixtureServer } from '@pipeline/test-utils';
import { createTwelveDataFetcher } from '@pipeline/fetchers';

it('README quick start: Twelve Data', async () => {
  const srv = await startFixtureServer(() =>
    fixtureReply('twelvedata/time_series-AAPL-1min-2023-08-24.json'),
  );
  const TWELVEDATA_API_KEY = 'demo-key';
  const TWELVEDATA_BASE_URL = srv.url; // README: 'https://api.twelvedata.com' (the default)
  const clock = new ManualClock(Date.parse('2023-08-24T15:09:30Z')); // README: omitted (wall clock)
  try {
    // --- README code ---
    const twelve = createTwelveDataFetcher({
      apiKey: TWELVEDATA_API_KEY,
      baseUrl: TWELVEDATA_BASE_URL,
      clock,
    });
    const bars = await twelve.fetchLatest({ symbol: 'AAPL', timeframe: '1m', limit: 30 });
    const newest = bars.at(-1); // ts = bar open in UTC ms; final: false while the minute is still forming
    const left = twelve.budget(); // { perMinuteLeft: 7, perDayLeft: 799, dayResetsAt, blockedUntil: null }
    await twelve.close();
    // --- end ---
    expect(newest).toMatchObject({ symbol: 'AAPL', ts: Date.parse('2023-08-24T15:09:00Z'), final: false });
    expect([left.perMinuteLeft, left.perDayLeft]).toEqual([7, 799]);
  } finally {
    await srv.close();
  }
});
