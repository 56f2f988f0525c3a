import { ManualClock, isFetchError, type FetchError } from '@pipeline/core';
import { createRateBudget } from './rate-budget';

function refusal(fn: () => void): FetchError {
  try {
    fn();
  } catch (err) {
    if (isFetchError(err)) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

// Margins with the defaults (windowMargin 0.02, minMarginMs 250): the second's window is 1.25 s, the
// minute's 61.2 s, and the UTC day counts afresh 1.2 s after 00:00 UTC.
const SECOND_W = 1_250;
const MINUTE_W = 61_200;

describe('createRateBudget', () => {
  it('uses the Alpha Vantage free-tier defaults: 1/s, 5/min, 25/day', () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2, 10, 0, 0));
    const b = createRateBudget({ source: 'alphavantage', clock });
    expect(b.limits).toEqual({ perSecond: 1, perMinute: 5, perDay: 25 });
    expect(b.marginsMs).toEqual({ second: 250, minute: 1_200 });
    for (let i = 0; i < 5; i++) {
      b.take();
      if (i < 4) clock.advance(SECOND_W);
    }
    expect(b.snapshot()).toEqual({
      perMinuteLeft: 0,
      perDayLeft: 20,
      dayResetsAt: Date.UTC(2024, 0, 3),
      blockedUntil: null,
    });
    const err = refusal(() => b.take('IBM'));
    expect([err.kind, err.symbol, err.retryAfterMs]).toEqual([
      'rate_limited',
      'IBM',
      MINUTE_W - 4 * SECOND_W,
    ]);
  });

  it('frees the minute window as the oldest request ages out (rolling 60 s plus the margin)', () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2, 10, 0, 0));
    const b = createRateBudget({ source: 'twelvedata', perMinute: 2, perDay: null, clock });
    b.take();
    clock.advance(20_000);
    b.take();
    expect(refusal(() => b.take()).retryAfterMs).toBe(MINUTE_W - 20_000);
    clock.advance(MINUTE_W - 20_000 - 1);
    expect(refusal(() => b.take()).retryAfterMs).toBe(1); // one ms before the edge: still refused
    clock.advance(1);
    b.take();
    expect(refusal(() => b.take()).retryAfterMs).toBe(20_000);
    expect(b.snapshot().perDayLeft).toBeNull();
  });

  it('resets the daily quota at 00:00 UTC plus the margin', () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2, 23, 59, 0));
    const b = createRateBudget({
      source: 'alphavantage',
      perSecond: null,
      perMinute: null,
      perDay: 2,
      clock,
    });
    b.take();
    b.take();
    const err = refusal(() => b.take());
    expect(err.retryAfterMs).toBe(60_000 + 1_200);
    expect(err.message).toMatch(/daily quota of 2 spent/);
    clock.advance(60_000); // 00:00:00.000 UTC: a clock 1 s fast must not spend the new day yet
    expect(b.snapshot().perDayLeft).toBe(0);
    expect(refusal(() => b.take()).retryAfterMs).toBe(1_200);
    clock.advance(1_200);
    expect(b.snapshot().perDayLeft).toBe(2);
    b.take();
    expect(b.snapshot()).toEqual({
      perMinuteLeft: null,
      perDayLeft: 1,
      dayResetsAt: Date.UTC(2024, 0, 4),
      blockedUntil: null,
    });
  });

  it('honours a provider block and a provider-declared spent day', () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2, 12, 0, 0));
    const b = createRateBudget({ source: 'yahoo', clock });
    b.block(5_000);
    expect(refusal(() => b.take()).retryAfterMs).toBe(5_000);
    // Health reads the block: nothing may be sent until it ends, whatever the local counts say.
    expect(b.snapshot()).toMatchObject({ perMinuteLeft: 0, blockedUntil: clock.now() + 5_000 });
    clock.advance(5_000);
    expect(b.snapshot().blockedUntil).toBeNull();
    expect(b.snapshot().perMinuteLeft).toBeGreaterThan(0);
    b.take();
    const av = createRateBudget({ source: 'alphavantage', clock });
    av.exhaustDay();
    expect(av.snapshot()).toMatchObject({ perDayLeft: 0, blockedUntil: null }); // the day's counter is spent, no block needed
    expect(refusal(() => av.take()).retryAfterMs).toBe(12 * 3600_000 - 5_000 + 1_200);
  });

  it('refuses without spending', () => {
    const clock = new ManualClock();
    const b = createRateBudget({ source: 'polygon', clock });
    for (let i = 0; i < 5; i++) b.take();
    for (let i = 0; i < 3; i++) refusal(() => b.take());
    clock.advance(MINUTE_W);
    expect(b.snapshot().perMinuteLeft).toBe(5);
  });

  it('the per-second window: take refuses inside it, acquire waits for its edge (and not a ms less)', async () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2, 10));
    const b = createRateBudget({ source: 'alphavantage', clock });
    b.take();
    const err = refusal(() => b.take());
    expect([err.retryAfterMs, err.message]).toEqual([
      SECOND_W,
      expect.stringMatching(/1 requests per second/),
    ]);
    let done = false;
    const p = b.acquire().then(() => (done = true));
    clock.advance(SECOND_W - 1);
    await flush();
    expect(done).toBe(false);
    clock.advance(1);
    await p;
    expect(b.snapshot().perDayLeft).toBe(23);
  });

  it('acquire serves concurrent callers one per window, never two at the same instant', async () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2, 10));
    const b = createRateBudget({ source: 'alphavantage', perMinute: null, perDay: null, clock });
    const sent: number[] = [];
    const all = Promise.all([0, 1, 2, 3].map(() => b.acquire().then(() => sent.push(clock.now()))));
    for (let i = 0; i < 8 && sent.length < 4; i++) {
      await flush();
      clock.advance(SECOND_W);
    }
    await all;
    const t0 = Date.UTC(2024, 0, 2, 10);
    expect(sent).toEqual([t0, t0 + SECOND_W, t0 + 2 * SECOND_W, t0 + 3 * SECOND_W]);
  });

  it('acquire refuses at once when another window is spent or the wait is longer than maxSpacingWaitMs', async () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2, 10));
    const b = createRateBudget({ source: 'alphavantage', perSecond: null, perMinute: 1, clock });
    b.take();
    await expect(b.acquire('IBM')).rejects.toMatchObject({ kind: 'rate_limited', retryAfterMs: MINUTE_W });
    const slow = createRateBudget({ source: 'alphavantage', perSecond: 1, maxSpacingWaitMs: 1_000, clock });
    slow.take();
    await expect(slow.acquire()).rejects.toMatchObject({ kind: 'rate_limited', retryAfterMs: SECOND_W });
    expect(clock.pendingTimers).toBe(0);
  });

  it('an aborted signal ends the wait with `aborted` and leaves no timer', async () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2, 10));
    const b = createRateBudget({ source: 'alphavantage', clock });
    b.take();
    const ac = new AbortController();
    const p = b.acquire('IBM', ac.signal);
    await flush();
    expect(clock.pendingTimers).toBe(1);
    ac.abort();
    await expect(p).rejects.toMatchObject({ kind: 'aborted', symbol: 'IBM' });
    expect(clock.pendingTimers).toBe(0);
  });

  it('property: sending whenever allowed, no provider window (skewed by up to the margin) ever sees more than its limit', () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2, 23, 50));
    const b = createRateBudget({ source: 'alphavantage', perDay: 40, clock });
    const sends: number[] = [];
    // Try every 37 ms for 20 minutes, across midnight.
    for (let i = 0; i < (20 * 60_000) / 37; i++) {
      try {
        b.take();
        sends.push(clock.now());
      } catch {
        // refused: nothing sent
      }
      clock.advance(37);
    }
    const most = (windowMs: number): number => {
      let best = 0;
      for (let i = 0, j = 0; i < sends.length; i++) {
        while (sends[i]! - sends[j]! >= windowMs) j++;
        best = Math.max(best, i - j + 1);
      }
      return best;
    };
    // The provider's 1 s and 60 s windows, measured on a clock up to 200 ms / 1 s off ours.
    expect(most(1_000 + 200)).toBe(1);
    expect(most(60_000 + 1_000)).toBe(5);
    // Its day, on a clock up to 1 s off ours: never more than 40 sends between two UTC midnights.
    const midnight = Date.UTC(2024, 0, 3);
    expect(sends.filter((t) => t < midnight + 1_000).length).toBeLessThanOrEqual(40);
    expect(sends.filter((t) => t >= midnight - 1_000).length).toBeLessThanOrEqual(40);
    expect(sends.length).toBe(80); // and both days' quotas were used, not starved
  });

  it('rejects bad limits and margins quoting the value', () => {
    expect(() => createRateBudget({ source: 'yahoo', perMinute: 0 })).toThrow(/perMinute.*got 0/);
    expect(() => createRateBudget({ source: 'yahoo', perDay: 2.5 })).toThrow(/perDay.*got 2.5/);
    expect(() => createRateBudget({ source: 'yahoo', perSecond: -1 })).toThrow(/perSecond.*got -1/);
    expect(() => createRateBudget({ source: 'yahoo', windowMargin: 2 })).toThrow(/windowMargin.*got 2/);
    expect(() => createRateBudget({ source: 'yahoo', minMarginMs: -5 })).toThrow(/minMarginMs.*got -5/);
    expect(() => createRateBudget({ source: 'yahoo', perMinut: 3 } as never)).toThrow(
      /unknown option "perMinut"/,
    );
  });
});
