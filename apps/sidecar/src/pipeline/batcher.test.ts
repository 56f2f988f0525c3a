import { FetchError, ManualClock, alignTs, isFetchError, type Bar } from '@pipeline/core';
import { type BatchFetcher, type FetchLatestManyRequest } from '@pipeline/fetchers';
import { createScriptedFetcher } from '../../test/scripted-fetcher';
import { testConfig } from '../../test/harness';
import { createBreakerFromConfig } from '../wiring/wiring';
import { batchesLatest, coalesceLatest } from './batcher';
import { createRequestPlanner } from './planner';

const T0 = Date.UTC(2024, 0, 3, 12, 0, 0);

/** A scripted source with a batch endpoint (Polygon-like: one request for all symbols, one bar each). */
function batchSource(clock: ManualClock, costPerSymbol = 0) {
  const base = createScriptedFetcher('polygon', clock);
  const calls: FetchLatestManyRequest[] = [];
  const fetcher: BatchFetcher = {
    ...base,
    capabilities: {
      ...base.capabilities,
      rateLimits: { perMinute: 5, perDay: null },
      batchLatest: { timeframes: ['1m'], maxSymbols: 2, maxLimit: 1, costPerSymbol },
    },
    async fetchLatestMany(req) {
      calls.push(req);
      const out = new Map<string, Bar[] | FetchError>();
      for (const symbol of req.symbols) {
        if (symbol === 'NOPE') {
          out.set(
            symbol,
            new FetchError({ kind: 'symbol_not_found', source: 'polygon', symbol, message: 'no' }),
          );
          continue;
        }
        const bars = await base.fetchLatest({ symbol, timeframe: req.timeframe, limit: 2 });
        out.set(symbol, bars.slice(-(req.limit ?? 1)));
      }
      return out;
    },
  };
  return { fetcher, calls };
}

describe('batch endpoints in the loop', () => {
  it("one cycle's latest-bar calls go out as one request per maxSymbols; each caller gets its own answer", async () => {
    const clock = new ManualClock(T0);
    const { fetcher, calls } = batchSource(clock);
    const wrapped = coalesceLatest(fetcher);
    const asks = ['EURUSD', 'XAUUSD', 'NOPE'].map((symbol) =>
      wrapped.fetchLatest({ symbol, timeframe: '1m', limit: 3 }).then(
        (bars) => bars,
        (err: unknown) => err,
      ),
    );
    const [eur, xau, nope] = await Promise.all(asks);
    // maxSymbols 2: two requests for three symbols, the limit clipped to the endpoint's maxLimit.
    expect(calls.map((c) => [c.symbols, c.limit])).toEqual([
      [['EURUSD', 'XAUUSD'], 1],
      [['NOPE'], 1],
    ]);
    expect(wrapped.batches).toBe(2);
    expect((eur as Bar[]).map((b) => [b.symbol, b.ts])).toEqual([['EURUSD', alignTs(T0, '1m')]]);
    expect((xau as Bar[])[0]?.symbol).toBe('XAUUSD');
    expect(isFetchError(nope) && nope.kind).toBe('symbol_not_found');
    // Other timeframes and history pass through to the fetcher itself.
    expect(batchesLatest(wrapped, '1m')).toBe(true);
    expect(batchesLatest(wrapped, '5m')).toBe(false);
    await wrapped.fetchLatest({ symbol: 'EURUSD', timeframe: '5m', limit: 1 });
    expect(calls).toHaveLength(2);
  });

  it('a whole-request failure reaches every caller of the batch', async () => {
    const clock = new ManualClock(T0);
    const { fetcher } = batchSource(clock);
    fetcher.fetchLatestMany = async () => {
      throw new FetchError({ kind: 'rate_limited', source: 'polygon', message: 'slow down' });
    };
    const wrapped = coalesceLatest(fetcher);
    const got = await Promise.allSettled(
      ['EURUSD', 'XAUUSD'].map((symbol) => wrapped.fetchLatest({ symbol, timeframe: '1m' })),
    );
    expect(got.map((g) => g.status)).toEqual(['rejected', 'rejected']);
  });

  it('the planner grants one token to a free batch of symbols: Polygon 5/min serves 3 symbols every ~24 s, not every ~36 s', () => {
    const clock = new ManualClock(T0);
    const breaker = createBreakerFromConfig(testConfig({ SQLITE_PATH: ':memory:' }), clock);
    const plan = (costPerSymbol: number) => {
      const { fetcher } = batchSource(clock, costPerSymbol);
      const planner = createRequestPlanner({
        sources: [{ name: 'polygon', fetcher: coalesceLatest(fetcher) }],
        breaker,
        timeframe: '1m',
        intervalMs: 1000,
        symbols: 3,
        now: () => clock.now(),
      });
      // The first cycle: with maxSymbols 2, one token serves two symbols.
      const due = planner.beginCycle(['EURUSD', 'XAUUSD', 'NAS100'], T0);
      return { due, refreshMs: planner.plan()[0]?.refreshMs ?? NaN };
    };
    const free = plan(0);
    const paid = plan(1);
    expect(free.due.size).toBe(2);
    expect(paid.due.size).toBe(1);
    // Two requests per round instead of three.
    expect(free.refreshMs / paid.refreshMs).toBeCloseTo(2 / 3, 2);
    breaker.close();
  });
});
