// withSharedBudget against the real Redis: a source's requests draw from the budget shared by the
// cluster (polls up to 80 % of it, history the rest), a refusal is a rate_limited FetchError the
// fallback order understands, and a provider's 429 with Retry-After pauses the source for every
// instance. The provider here is a stand-in fetcher counting what reaches it.
import {
  FetchError,
  ManualClock,
  isFetchError,
  type Bar,
  type Fetcher,
  type SourceCapabilities,
} from '@pipeline/core';
import { createBreakerRegistry } from '@pipeline/breaker';
import { deleteRedisPrefix, TEST_REDIS_URL, uniqueRedisPrefix } from '@pipeline/test-utils';
import { isBatchFetcher, type BatchFetcher } from '@pipeline/fetchers';
import { Redis } from 'ioredis';
import { coalesceLatest } from '../pipeline/batcher';
import { createSharedBudget } from './shared-budget';
import { withSharedBudget } from './wiring';
import { until } from '../../test/at';

let redis: Redis;
let prefix: string;
let clock: ManualClock;
beforeEach(() => {
  redis = new Redis(TEST_REDIS_URL);
  prefix = uniqueRedisPrefix('cluster-wiring');
  clock = new ManualClock(Date.UTC(2026, 0, 5, 12, 0, 0));
});
afterEach(async () => {
  await deleteRedisPrefix(redis, prefix);
  redis.disconnect();
});

function provider(
  perMinute: number,
  answer: () => Promise<Bar[]> = async () => [],
  opts: { maxRangeMs?: number; pagesPerCall?: number } = {},
) {
  const sent: string[] = [];
  const capabilities = {
    source: 'twelvedata',
    timeframes: ['1m'],
    historyDepthMs: {},
    maxRangeMsPerRequest: opts.maxRangeMs ? { '1m': opts.maxRangeMs } : {},
    needsApiKey: true,
    rateLimits: { perSecond: null, perMinute, perDay: null },
    streaming: false,
  } as SourceCapabilities;
  const fetcher: Fetcher = {
    source: 'twelvedata',
    capabilities,
    fetchLatest: async (r) => {
      sent.push(`latest ${r.symbol}`);
      return answer();
    },
    fetchHistory: async (r) => {
      // A fetcher that pages: `pagesPerCall` provider requests for one call, reported as it goes.
      const pages = opts.pagesPerCall ?? 1;
      for (let i = 1; i <= pages; i++) {
        sent.push(`history ${r.symbol} ${r.from}-${r.to}`);
        r.onProgress?.({ requestsDone: i, requestsPlanned: pages, bars: 0 });
      }
      return answer();
    },
    budget: () => ({ perMinuteLeft: null, perDayLeft: null, dayResetsAt: null, blockedUntil: null }),
    close: async () => undefined,
  };
  return { fetcher, sent };
}

const latest = { symbol: 'EURUSD', timeframe: '1m', limit: 3 } as const;

/** xs[i], or a failed test when there is none. */
function at<T>(xs: readonly T[], i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i}`);
  return x;
}

describe('withSharedBudget', () => {
  it('three instances together send at most the limit; polls leave 20 % for history', async () => {
    const budget = createSharedBudget({ redis, prefix, clock });
    const instances = [1, 2, 3].map(() => {
      const p = provider(10);
      return { ...p, slot: withSharedBudget({ name: 'twelvedata', fetcher: p.fetcher }, budget, 'KEY') };
    });
    const refusals: unknown[] = [];
    for (let i = 0; i < 30; i++) {
      await at(instances, i % 3)
        .slot.fetcher.fetchLatest(latest)
        .catch((e: unknown) => refusals.push(e));
    }
    const polls = instances.reduce((n, i) => n + i.sent.length, 0);
    expect(polls).toBe(8); // 10 a minute, 2 kept for history
    expect(refusals).toHaveLength(22);
    expect(isFetchError(refusals[0]) && refusals[0].kind).toBe('rate_limited');
    const h = { symbol: 'EURUSD', timeframe: '1m', from: 0, to: 60_000 } as const;
    await at(instances, 0).slot.fetcher.fetchHistory(h);
    await at(instances, 1).slot.fetcher.fetchHistory(h);
    await expect(at(instances, 2).slot.fetcher.fetchHistory(h)).rejects.toMatchObject({
      kind: 'rate_limited',
    });
    expect(instances.reduce((n, i) => n + i.sent.length, 0)).toBe(10);
  });

  it('a poll refused at the poll limits leaves history requests callable (a takeover is not starved)', async () => {
    // The breaker as the sidecar wires it: a rate_limited error with retryAfterMs cools the whole
    // source down on this instance. A poll refusal must not, or a takeover's backfill (granted from
    // the 20 % kept for history) is skipped as "open" until the poll window has room again.
    const budget = createSharedBudget({ redis, prefix, clock });
    const breaker = createBreakerRegistry({ clock, retry: { maxAttempts: 1 } });
    const p = provider(10);
    const slot = withSharedBudget({ name: 'twelvedata', fetcher: p.fetcher }, budget, 'KEY');
    for (let i = 0; i < 8; i++) await breaker.execute('twelvedata', () => slot.fetcher.fetchLatest(latest));
    await expect(breaker.execute('twelvedata', () => slot.fetcher.fetchLatest(latest))).rejects.toMatchObject(
      { kind: 'rate_limited' },
    );
    expect(breaker.isCallable('twelvedata')).toBe(true);
    const h = { symbol: 'EURUSD', timeframe: '1m', from: 0, to: 60_000 } as const;
    await breaker.execute('twelvedata', () => slot.fetcher.fetchHistory(h));
    await breaker.execute('twelvedata', () => slot.fetcher.fetchHistory(h));
    expect(p.sent).toHaveLength(10);
    // The full limit spent: now every kind waits, and the source cools down until the window has room.
    await expect(breaker.execute('twelvedata', () => slot.fetcher.fetchHistory(h))).rejects.toMatchObject({
      kind: 'rate_limited',
      retryAfterMs: expect.any(Number),
    });
    expect(breaker.isCallable('twelvedata')).toBe(false);
    expect(p.sent).toHaveLength(10);
  });

  it("a provider's 429 with Retry-After pauses the source for every instance", async () => {
    const budget = createSharedBudget({ redis, prefix, clock });
    let throttled = true;
    const a = provider(100, async () => {
      if (throttled)
        throw new FetchError({
          kind: 'rate_limited',
          source: 'twelvedata',
          message: 'HTTP 429',
          retryAfterMs: 30_000,
        });
      return [];
    });
    const b = provider(100);
    const slotA = withSharedBudget({ name: 'twelvedata', fetcher: a.fetcher }, budget, 'KEY');
    const slotB = withSharedBudget({ name: 'twelvedata', fetcher: b.fetcher }, budget, 'KEY');
    await expect(slotA.fetcher.fetchLatest(latest)).rejects.toMatchObject({ kind: 'rate_limited' });
    throttled = false;
    // B never saw the 429 itself, and sends nothing while the pause lasts.
    await expect(slotB.fetcher.fetchLatest(latest)).rejects.toMatchObject({ kind: 'rate_limited' });
    expect(b.sent).toEqual([]);
    clock.advance(30_001);
    await slotB.fetcher.fetchLatest(latest);
    expect(b.sent).toEqual(['latest EURUSD']);
  });

  it('a different API key has its own budget; a source without limits is passed through', async () => {
    const budget = createSharedBudget({ redis, prefix, clock });
    const one = provider(2);
    const other = provider(2);
    const s1 = withSharedBudget({ name: 'twelvedata', fetcher: one.fetcher }, budget, 'KEY-1');
    const s2 = withSharedBudget({ name: 'twelvedata', fetcher: other.fetcher }, budget, 'KEY-2');
    await s1.fetcher.fetchLatest(latest);
    await expect(s1.fetcher.fetchLatest(latest)).rejects.toMatchObject({ kind: 'rate_limited' });
    await s2.fetcher.fetchLatest(latest);
    expect(other.sent).toHaveLength(1);
    const free = provider(0);
    const slot = { name: 'twelvedata' as const, fetcher: free.fetcher };
    expect(withSharedBudget(slot, budget, 'KEY-1')).toBe(slot);
  });

  it('a history call spends one unit per provider request it makes, not one per call', async () => {
    const budget = createSharedBudget({ redis, prefix, clock });
    const limits = { perMinute: 100 };
    const left = async () => (await budget.peek('twelvedata', 'KEY', limits)).minuteLeft;
    // 35 minutes with at most 10 per request: four requests, each paid for before it is sent.
    const chunked = provider(100, async () => [], { maxRangeMs: 10 * 60_000 });
    const a = withSharedBudget({ name: 'twelvedata', fetcher: chunked.fetcher }, budget, 'KEY');
    const progress: number[] = [];
    await a.fetcher.fetchHistory({
      symbol: 'EURUSD',
      timeframe: '1m',
      from: 0,
      to: 35 * 60_000,
      onProgress: (p) => progress.push(p.requestsDone),
    });
    expect(chunked.sent).toHaveLength(4);
    expect(await left()).toBe(96);
    expect(progress).toEqual([1, 2, 3, 4]);
    // A fetcher that pages on its own (three requests for one call): the two extra are recorded.
    const paging = provider(100, async () => [], { pagesPerCall: 3 });
    const b = withSharedBudget({ name: 'twelvedata', fetcher: paging.fetcher }, budget, 'KEY');
    await b.fetcher.fetchHistory({ symbol: 'EURUSD', timeframe: '1m', from: 0, to: 60_000 });
    expect(paging.sent).toHaveLength(3);
    expect(await left()).toBe(93);
    // The budget runs out mid-call: the requests already sent stay counted, the rest is refused.
    const tight = createSharedBudget({ redis, prefix: `${prefix}tight:`, clock });
    const small = provider(2, async () => [], { maxRangeMs: 10 * 60_000 });
    const c = withSharedBudget({ name: 'twelvedata', fetcher: small.fetcher }, tight, 'KEY');
    await expect(
      c.fetcher.fetchHistory({ symbol: 'EURUSD', timeframe: '1m', from: 0, to: 35 * 60_000 }),
    ).rejects.toMatchObject({ kind: 'rate_limited' });
    expect(small.sent).toHaveLength(2);
  });

  it("budget() shows the shared budget's remaining requests, not this process's", async () => {
    const budget = createSharedBudget({ redis, prefix, clock });
    const a = provider(10);
    const b = provider(10);
    const slotA = withSharedBudget({ name: 'twelvedata', fetcher: a.fetcher }, budget, 'KEY', undefined, () =>
      clock.now(),
    );
    const slotB = withSharedBudget({ name: 'twelvedata', fetcher: b.fetcher }, budget, 'KEY', undefined, () =>
      clock.now(),
    );
    for (let i = 0; i < 3; i++) await slotA.fetcher.fetchLatest(latest);
    // A's own answers: 10 - 3 (the poll answers count against the poll limit; the reserve is added back).
    expect(slotA.fetcher.budget().perMinuteLeft).toBe(7);
    // B sent nothing itself: its first read starts a peek (the fetcher's own budget until it answers).
    const unpeekedB = slotB.fetcher.budget().perMinuteLeft;
    // The peek answers on a later turn (a fixed 100 ms sleep guessed at it; a loaded machine may take longer).
    await until(() => slotB.fetcher.budget().perMinuteLeft !== unpeekedB, "B's peek at the shared budget");
    expect(slotB.fetcher.budget().perMinuteLeft).toBe(7);
    await slotB.fetcher.fetchLatest(latest);
    expect(slotB.fetcher.budget().perMinuteLeft).toBe(6);
    // A reads again more than a second later: a fresh peek sees B's request.
    clock.advance(1_001);
    const unpeekedA = slotA.fetcher.budget().perMinuteLeft;
    await until(() => slotA.fetcher.budget().perMinuteLeft !== unpeekedA, "A's fresh peek");
    expect(slotA.fetcher.budget().perMinuteLeft).toBe(6);
  });

  it('a batch endpoint free per symbol pays one unit per batch request, and stays a batch fetcher', async () => {
    const budget = createSharedBudget({ redis, prefix, clock });
    const requests: string[][] = [];
    const p = provider(10);
    // Polygon-like: one snapshot request serves up to 50 symbols and costs one request.
    const capabilities = {
      ...p.fetcher.capabilities,
      source: 'polygon',
      batchLatest: { timeframes: ['1m'], maxSymbols: 50, maxLimit: 1, costPerSymbol: 0 },
    } as SourceCapabilities;
    const inner: BatchFetcher = {
      ...p.fetcher,
      source: 'polygon',
      capabilities,
      fetchLatestMany: async (r) => {
        requests.push([...r.symbols]);
        return new Map(r.symbols.map((s) => [s, [] as Bar[]]));
      },
    };
    const slot = withSharedBudget({ name: 'polygon', fetcher: coalesceLatest(inner) }, budget, 'KEY');
    expect(isBatchFetcher(slot.fetcher)).toBe(true);
    const symbols = Array.from({ length: 60 }, (_, i) => `S${i}`);
    await Promise.all(
      symbols.map((symbol) => slot.fetcher.fetchLatest({ symbol, timeframe: '1m', limit: 1 })),
    );
    // 60 symbols in one turn: two batch requests (50 + 10), two units of the budget, not 60.
    expect(requests.map((r) => r.length)).toEqual([50, 10]);
    expect((await budget.peek('polygon', 'KEY', { perMinute: 10 })).minuteLeft).toBe(8);
    // The poll limit (8 of 10) runs out after four such turns.
    for (let i = 0; i < 3; i++)
      await Promise.all(
        symbols.map((symbol) => slot.fetcher.fetchLatest({ symbol, timeframe: '1m', limit: 1 })),
      );
    await expect(slot.fetcher.fetchLatest({ symbol: 'S0', timeframe: '1m', limit: 1 })).rejects.toMatchObject(
      {
        kind: 'rate_limited',
      },
    );
    expect(requests).toHaveLength(8);
  });
});
