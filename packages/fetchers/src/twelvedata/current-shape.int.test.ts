import { ManualClock } from '@pipeline/core';
import { failure as failureOf } from '../testing/failure';
import { useFixtureServer } from '../testing/use-fixture-server';
import { ownFixtureReply } from '../testing/own-fixtures';
import { createTwelveDataFetcher } from './fetcher';

const KEY = 'td-secret-key-123456';
const failure = (p: Promise<unknown>) => failureOf(p, KEY);

describe("Twelve Data in today's shapes (hand-made recordings, fixtures/PROVENANCE.md)", () => {
  const { srv, track } = useFixtureServer(() => ({ status: 500 }));

  it.each([403, 200])(
    '"This symbol is available starting with Grow plan" (code 403, HTTP %i) is not_supported, not auth',
    async (status) => {
      srv.setHandler(() => ownFixtureReply('twelvedata/error-403-grow-plan.json', { status }));
      const f = track(
        createTwelveDataFetcher({
          apiKey: KEY,
          baseUrl: srv.url,
          clock: new ManualClock(Date.UTC(2025, 2, 14)),
        }),
      );
      const err = await failure(f.fetchLatest({ symbol: 'XAUUSD', timeframe: '1m' }));
      expect([err.kind, err.countsForBreaker, err.symbol]).toEqual(['not_supported', false, 'XAUUSD']);
      expect(err.message).toMatch(/Grow plan/);
      // The key is fine: the source is neither paused nor spent.
      expect(f.budget().blockedUntil).toBeNull();
    },
  );

  it('a 403 about the key itself stays auth', async () => {
    srv.setHandler(() => ({
      status: 403,
      body: JSON.stringify({
        code: 403,
        message: 'Your API key is not authorized to access this resource.',
        status: 'error',
      }),
    }));
    const f = track(createTwelveDataFetcher({ apiKey: KEY, baseUrl: srv.url }));
    expect((await failure(f.fetchLatest({ symbol: 'AAPL', timeframe: '1m' }))).kind).toBe('auth');
  });
});
