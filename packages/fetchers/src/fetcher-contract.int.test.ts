// One contract suite run against every fetcher of this package (unstorage-style): whatever the source,
// bars come back in the shape and order core's Fetcher interface promises.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock, isFetchError, type Fetcher } from '@pipeline/core';
import { cleanupTempDirs, tempDir } from '@pipeline/test-utils';
import { createAlphaVantageFetcher } from './alphavantage/fetcher';
import { createReplayFetcher } from './replay/fetcher';
import { createSyntheticFetcher } from './synthetic/fetcher';
import { startProviderServer, type ProviderServer } from './testing';
import { createYahooFetcher } from './yahoo/fetcher';
import { assertContractBars } from './testing/contract';

const NOW = Date.UTC(2024, 5, 3, 14, 7, 30); // a Monday, mid-bar
const H = 3_600_000;

interface Subject {
  fetcher: Fetcher;
  clock: ManualClock;
  /** A symbol and timeframe it serves. */
  symbol: string;
  timeframe: '1m' | '5m';
  /** Whether its latest bar can be forming (replay only shows completed bars). */
  forming: boolean;
  close(): Promise<void>;
}

/** Three hours of synthetic EURUSD 1m bars written as a replay CSV. */
async function replayCsv(): Promise<string> {
  const synthetic = createSyntheticFetcher({ clock: new ManualClock(NOW) });
  const bars = await synthetic.fetchHistory({
    symbol: 'EURUSD',
    timeframe: '1m',
    from: NOW - 3 * H,
    to: NOW - 60_000,
  });
  const rows = ['ts,open,high,low,close,volume,symbol,timeframe'];
  for (const b of bars)
    rows.push([b.ts, b.open, b.high, b.low, b.close, b.volume, b.symbol, b.timeframe].join(','));
  const path = join(tempDir('contract-'), 'eurusd.csv');
  writeFileSync(path, rows.join('\n'));
  return path;
}

const subjects: Record<string, () => Promise<Subject>> = {
  synthetic: async () => {
    const clock = new ManualClock(NOW);
    const fetcher = createSyntheticFetcher({ clock });
    return { fetcher, clock, symbol: 'XAUUSD', timeframe: '1m', forming: true, close: () => fetcher.close() };
  },
  replay: async () => {
    const clock = new ManualClock(NOW);
    const csvPath = await replayCsv();
    const fetcher = createReplayFetcher({ csvPath, clock, startAt: NOW - H });
    return {
      fetcher,
      clock,
      symbol: 'EURUSD',
      timeframe: '1m',
      forming: false,
      close: () => fetcher.close(),
    };
  },
  'yahoo (provider server)': async () => {
    const clock = new ManualClock(NOW);
    const srv: ProviderServer = await startProviderServer({
      fetcher: createSyntheticFetcher({ clock }),
      clock,
    });
    const fetcher = createYahooFetcher({ baseUrl: srv.url, clock });
    return {
      fetcher,
      clock,
      symbol: 'NAS100',
      timeframe: '5m',
      forming: true,
      close: async () => (await fetcher.close(), await srv.close()),
    };
  },
  'alphavantage (provider server)': async () => {
    const clock = new ManualClock(NOW);
    const srv: ProviderServer = await startProviderServer({
      fetcher: createSyntheticFetcher({ clock }),
      clock,
    });
    const fetcher = createAlphaVantageFetcher({
      apiKey: 'contract-key',
      baseUrl: srv.url,
      clock,
      rateLimits: { perMinute: null, perDay: null },
    });
    return {
      fetcher,
      clock,
      symbol: 'EURUSD',
      timeframe: '5m',
      forming: false,
      close: async () => (await fetcher.close(), await srv.close()),
    };
  },
};

afterAll(() => cleanupTempDirs());

describe.each(Object.keys(subjects))('Fetcher contract: %s', (name) => {
  let s: Subject;
  beforeEach(async () => {
    s = await subjects[name]!();
  });
  afterEach(async () => {
    await s.close();
  });

  it('fetchLatest: at most `limit` bars, ascending, unique, generic symbol, only the forming bar non-final', async () => {
    const bars = await s.fetcher.fetchLatest({ symbol: s.symbol, timeframe: s.timeframe, limit: 5 });
    expect(bars.length).toBeGreaterThan(0);
    expect(bars.length).toBeLessThanOrEqual(5);
    assertContractBars(bars, s);
    expect(bars.at(-1)!.final).toBe(!s.forming);
  });

  it('fetchHistory: bars inside [from, to), same rules', async () => {
    const from = NOW - 2 * H;
    const to = NOW - H;
    const bars = await s.fetcher.fetchHistory({ symbol: s.symbol, timeframe: s.timeframe, from, to });
    expect(bars.length).toBeGreaterThan(0);
    assertContractBars(bars, s);
    expect(bars.every((b) => b.ts >= from && b.ts < to)).toBe(true);
  });

  it('capabilities and budget have the documented shape', () => {
    expect(s.fetcher.capabilities.source).toBe(s.fetcher.source);
    expect(s.fetcher.capabilities.timeframes).toContain(s.timeframe);
    const b = s.fetcher.budget();
    expect(Object.keys(b).sort()).toEqual(['blockedUntil', 'dayResetsAt', 'perDayLeft', 'perMinuteLeft']);
  });

  it('rejects an unknown timeframe as bad_request, and an aborted signal as aborted', async () => {
    const bad = await s.fetcher
      .fetchLatest({ symbol: s.symbol, timeframe: '2h' as never })
      .catch((e: unknown) => e);
    expect(isFetchError(bad) && bad.kind).toBe('bad_request');
    const ac = new AbortController();
    ac.abort();
    const aborted = await s.fetcher
      .fetchHistory({ symbol: s.symbol, timeframe: s.timeframe, from: NOW - H, to: NOW, signal: ac.signal })
      .catch((e: unknown) => e);
    expect(isFetchError(aborted) && aborted.kind).toBe('aborted');
  });
});
