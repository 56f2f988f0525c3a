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

describe('createRateBudget', () => {
  it('uses the Alpha Vantage free-tier defaults: 5/min, 25/day', () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2, 10, 0, 0));
    const b = createRateBudget({ source: 'alphavantage', clock });
    expect(b.limits).toEqual({ perMinute: 5, perDay: 25 });
    for (let i = 0; i < 5; i++) b.take();
    expect(b.snapshot()).toEqual({
      perMinuteLeft: 0,
      perDayLeft: 20,
      dayResetsAt: Date.UTC(2024, 0, 3),
      blockedUntil: null,
    });
    const err = refusal(() => b.take('IBM'));
    expect([err.kind, err.symbol, err.retryAfterMs]).toEqual(['rate_limited', 'IBM', 60_000]);
  });

  it('frees the minute window as the oldest request ages out (rolling 60 s)', () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2, 10, 0, 0));
    const b = createRateBudget({ source: 'twelvedata', perMinute: 2, perDay: null, clock });
    b.take();
    clock.advance(20_000);
    b.take();
    expect(refusal(() => b.take()).retryAfterMs).toBe(40_000);
    clock.advance(40_000);
    b.take();
    expect(refusal(() => b.take()).retryAfterMs).toBe(20_000);
    expect(b.snapshot().perDayLeft).toBeNull();
  });

  it('resets the daily quota at 00:00 UTC', () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2, 23, 59, 0));
    const b = createRateBudget({ source: 'alphavantage', perMinute: null, perDay: 2, clock });
    b.take();
    b.take();
    const err = refusal(() => b.take());
    expect(err.retryAfterMs).toBe(60_000);
    expect(err.message).toMatch(/daily quota of 2 spent/);
    clock.advance(60_000);
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
    expect(refusal(() => av.take()).retryAfterMs).toBe(12 * 3600_000 - 5_000);
  });

  it('refuses without spending', () => {
    const clock = new ManualClock();
    const b = createRateBudget({ source: 'polygon', clock });
    for (let i = 0; i < 5; i++) b.take();
    for (let i = 0; i < 3; i++) refusal(() => b.take());
    clock.advance(60_000);
    expect(b.snapshot().perMinuteLeft).toBe(5);
  });

  it('rejects bad limits quoting the value', () => {
    expect(() => createRateBudget({ source: 'yahoo', perMinute: 0 })).toThrow(/perMinute.*got 0/);
    expect(() => createRateBudget({ source: 'yahoo', perDay: 2.5 })).toThrow(/perDay.*got 2.5/);
    expect(() => createRateBudget({ source: 'yahoo', perMinut: 3 } as never)).toThrow(
      /unknown option "perMinut"/,
    );
  });
});
