import { FETCH_ERROR_KINDS, FetchError, type FetchErrorKind } from '@pipeline/core';
import {
  BreakerCancelledError,
  BreakerOpenError,
  BreakerTimeoutError,
  countsAgainstBreaker,
  isRetryableError,
} from './index';

describe("error policy follows core's FETCH_ERROR_KINDS table", () => {
  it.each(Object.keys(FETCH_ERROR_KINDS) as FetchErrorKind[])('%s', (kind) => {
    const error = new FetchError({ kind, source: 'yahoo', message: 'x' });
    expect(countsAgainstBreaker(error)).toBe(FETCH_ERROR_KINDS[kind].countsForBreaker);
    expect(isRetryableError(error)).toBe(FETCH_ERROR_KINDS[kind].retryable);
  });

  it('rate limits and unknown symbols never count', () => {
    expect(
      countsAgainstBreaker(
        new FetchError({ kind: 'rate_limited', source: 'polygon', message: '429', retryAfterMs: 5 }),
      ),
    ).toBe(false);
    expect(
      countsAgainstBreaker(new FetchError({ kind: 'symbol_not_found', source: 'polygon', message: '404' })),
    ).toBe(false);
  });

  it('timeouts count and are retried; cancellations and refusals neither', () => {
    expect([
      countsAgainstBreaker(new BreakerTimeoutError('yahoo', 5)),
      isRetryableError(new BreakerTimeoutError('yahoo', 5)),
    ]).toEqual([true, true]);
    expect([
      countsAgainstBreaker(new BreakerCancelledError('yahoo', null)),
      isRetryableError(new BreakerCancelledError('yahoo', null)),
    ]).toEqual([false, false]);
    expect(countsAgainstBreaker(new BreakerOpenError('yahoo', 'open', 1))).toBe(false);
  });

  it('errors of unknown origin count and are retried', () => {
    expect([
      countsAgainstBreaker(new TypeError('fetch failed')),
      isRetryableError(new TypeError('fetch failed')),
    ]).toEqual([true, true]);
    expect(countsAgainstBreaker('thrown string')).toBe(true);
  });
});
