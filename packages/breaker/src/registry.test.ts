import { getEventListeners } from 'node:events';
import { ManualClock, isPipelineError } from '@pipeline/core';
import { fetchError, flush, settle } from '../test/helpers';
import {
  createBreakerRegistry,
  isBreakerError,
  type BreakerRegistryOptions,
  type StateChangeEvent,
  type RetryEvent,
} from './index';

function setup(overrides: Partial<BreakerRegistryOptions> = {}) {
  const clock = new ManualClock();
  const breakers = createBreakerRegistry({
    clock,
    retry: { maxAttempts: 1 },
    timeoutMs: 0,
    ...overrides,
  });
  const events: StateChangeEvent[] = [];
  breakers.onStateChange((e) => events.push(e));
  return { clock, breakers, events };
}

// eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- tests also reject with non-Errors on purpose
const fail = (error: unknown) => () => Promise.reject(error);
const ok =
  <T>(value: T) =>
  () =>
    Promise.resolve(value);

describe('options', () => {
  it('rejects unknown and misspelled options, top level and nested', () => {
    expect(() => createBreakerRegistry({ timeoutMS: 5 } as never)).toThrow(/unknown option "timeoutMS"/);
    expect(() => createBreakerRegistry({ breaker: { failureTreshold: 3 } as never })).toThrow(
      /breaker: unknown option "failureTreshold"/,
    );
    expect(() => createBreakerRegistry({ retry: { maxAttempt: 3 } as never })).toThrow(
      /unknown option "maxAttempt"/,
    );
  });

  it('quotes bad values', () => {
    expect(() => createBreakerRegistry({ breaker: { failureThreshold: 0 } })).toThrow(
      /failureThreshold.*got 0/,
    );
    expect(() => createBreakerRegistry({ breaker: { failureThreshold: 2.5 } })).toThrow(/integer, got 2.5/);
    expect(() => createBreakerRegistry({ retry: { jitter: 'random' as never } })).toThrow(/jitter.*"random"/);
    expect(() => createBreakerRegistry({ retry: { baseDelayMs: 500, maxDelayMs: 100 } })).toThrow(
      /maxDelayMs.*got 100/,
    );
    expect(() => createBreakerRegistry({ timeoutMs: -1 })).toThrow(/timeoutMs.*got -1/);
    try {
      createBreakerRegistry({ windowSize: 0 });
      throw new Error('not thrown');
    } catch (error) {
      expect(isPipelineError(error, 'INVALID_OPTIONS')).toBe(true);
    }
  });

  it('freezes resolved options with the documented defaults', () => {
    const breakers = createBreakerRegistry();
    expect(breakers.options.breaker).toEqual({ failureThreshold: 5, halfOpenAfterMs: 60_000 });
    expect(breakers.options.retry).toEqual({
      maxAttempts: 3,
      baseDelayMs: 100,
      maxDelayMs: 1_000,
      jitter: 'decorrelated',
    });
    expect(Object.isFrozen(breakers.options)).toBe(true);
    expect(Object.isFrozen(breakers.options.retry)).toBe(true);
  });
});

describe('circuit transitions on a manual clock', () => {
  it('opens after 5 consecutive counted failures and refuses calls without reaching the source', async () => {
    const { clock, breakers, events } = setup();
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(fetchError('transient'));
    };
    for (let i = 0; i < 4; i++)
      await expect(breakers.execute('yahoo', failing)).rejects.toMatchObject({ code: 'FETCH_TRANSIENT' });
    expect(breakers.snapshot('yahoo')).toMatchObject({
      state: 'closed',
      consecutiveFailures: 4,
      callable: true,
    });
    await expect(breakers.execute('yahoo', failing)).rejects.toMatchObject({ code: 'FETCH_TRANSIENT' });
    expect(breakers.snapshot('yahoo')).toMatchObject({
      state: 'open',
      consecutiveFailures: 5,
      callable: false,
      openedAt: clock.now(),
      probeAt: clock.now() + 60_000,
    });
    expect(events).toEqual([
      expect.objectContaining({ source: 'yahoo', from: 'closed', to: 'open', probeAt: clock.now() + 60_000 }),
    ]);
    expect(events[0]?.lastError).toMatchObject({ code: 'FETCH_TRANSIENT' });

    const refused = await breakers.execute('yahoo', failing).catch((e: unknown) => e);
    expect(isBreakerError(refused, 'BREAKER_OPEN')).toBe(true);
    expect(refused).toMatchObject({
      source: 'yahoo',
      state: 'open',
      probeAt: clock.now() + 60_000,
      tryNextSource: true,
    });
    expect(calls).toBe(5);
    expect(breakers.snapshot('yahoo').counts).toMatchObject({
      calls: 6,
      attempts: 5,
      failures: 5,
      rejected: 1,
      opened: 1,
    });
    // Other sources are independent.
    expect(breakers.isCallable('polygon')).toBe(true);
  });

  it('lets one probe through after 60 s; a good probe closes the circuit', async () => {
    const { clock, breakers, events } = setup();
    for (let i = 0; i < 5; i++)
      await breakers.execute('yahoo', fail(fetchError('transient'))).catch(() => undefined);
    clock.advance(59_999);
    expect(breakers.isCallable('yahoo')).toBe(false);
    clock.advance(1);
    expect(breakers.isCallable('yahoo')).toBe(true);
    expect(breakers.snapshot('yahoo').state).toBe('open');

    let release!: (v: string) => void;
    const probe = breakers.execute('yahoo', () => new Promise<string>((r) => (release = r)));
    await flush();
    expect(breakers.snapshot('yahoo').state).toBe('half_open');
    // While the probe is in flight the caller is told to use another source.
    expect(breakers.isCallable('yahoo')).toBe(false);
    await expect(breakers.execute('yahoo', ok('x'))).rejects.toMatchObject({
      code: 'BREAKER_OPEN',
      state: 'half_open',
    });
    release('bars');
    await expect(probe).resolves.toBe('bars');
    expect(breakers.snapshot('yahoo')).toMatchObject({
      state: 'closed',
      consecutiveFailures: 0,
      probeAt: null,
      callable: true,
    });
    expect(events.map((e) => `${e.from}>${e.to}`)).toEqual([
      'closed>open',
      'open>half_open',
      'half_open>closed',
    ]);
  });

  it('a bad probe re-opens the circuit for another 60 s', async () => {
    const { clock, breakers, events } = setup();
    for (let i = 0; i < 5; i++)
      await breakers.execute('yahoo', fail(fetchError('transient'))).catch(() => undefined);
    clock.advance(60_000);
    await expect(breakers.execute('yahoo', fail(fetchError('malformed')))).rejects.toMatchObject({
      code: 'FETCH_MALFORMED',
    });
    expect(breakers.snapshot('yahoo')).toMatchObject({
      state: 'open',
      openedAt: clock.now(),
      probeAt: clock.now() + 60_000,
    });
    expect(events.map((e) => e.to)).toEqual(['open', 'half_open', 'open']);
    clock.advance(30_000);
    expect(breakers.isCallable('yahoo')).toBe(false);
    clock.advance(30_000);
    await expect(breakers.execute('yahoo', ok(1))).resolves.toBe(1);
    expect(breakers.snapshot('yahoo').state).toBe('closed');
  });

  it('a success in between resets the consecutive count', async () => {
    const { breakers } = setup();
    for (let i = 0; i < 4; i++)
      await breakers.execute('yahoo', fail(fetchError('auth'))).catch(() => undefined);
    await breakers.execute('yahoo', ok(1));
    for (let i = 0; i < 4; i++)
      await breakers.execute('yahoo', fail(fetchError('auth'))).catch(() => undefined);
    expect(breakers.snapshot('yahoo')).toMatchObject({ state: 'closed', consecutiveFailures: 4 });
  });

  it('counts unknown (non-FetchError) errors as failures', async () => {
    const { breakers } = setup({ breaker: { failureThreshold: 2 } });
    await breakers.execute('twelvedata', fail(new TypeError('fetch failed'))).catch(() => undefined);
    await breakers.execute('twelvedata', fail('a string')).catch(() => undefined);
    expect(breakers.snapshot('twelvedata')).toMatchObject({
      state: 'open',
      lastError: { code: 'UNKNOWN', message: 'a string' },
    });
  });

  it('rate limits, unknown symbols and other non-counting kinds never trip the breaker', async () => {
    const { breakers, events } = setup({ breaker: { failureThreshold: 2 } });
    for (const kind of ['rate_limited', 'symbol_not_found', 'not_supported', 'bad_request'] as const) {
      for (let i = 0; i < 5; i++) {
        await expect(
          breakers.execute('alphavantage', fail(fetchError(kind, 'alphavantage'))),
        ).rejects.toMatchObject({ kind });
      }
    }
    expect(breakers.snapshot('alphavantage')).toMatchObject({
      state: 'closed',
      consecutiveFailures: 0,
      counts: { ignoredErrors: 20, failures: 0 },
    });
    expect(events).toEqual([]);
  });

  it('a non-counting error does not reset the consecutive count either', async () => {
    const { breakers } = setup({ breaker: { failureThreshold: 3 } });
    await breakers.execute('yahoo', fail(fetchError('transient'))).catch(() => undefined);
    await breakers.execute('yahoo', fail(fetchError('transient'))).catch(() => undefined);
    await breakers.execute('yahoo', fail(fetchError('symbol_not_found'))).catch(() => undefined);
    expect(breakers.snapshot('yahoo').consecutiveFailures).toBe(2);
    await breakers.execute('yahoo', fail(fetchError('transient'))).catch(() => undefined);
    expect(breakers.snapshot('yahoo').state).toBe('open');
  });

  it('a probe answered with a non-counting error closes the circuit: the source is answering', async () => {
    const { clock, breakers } = setup({ breaker: { failureThreshold: 1 } });
    await breakers.execute('polygon', fail(fetchError('transient', 'polygon'))).catch(() => undefined);
    clock.advance(60_000);
    await breakers.execute('polygon', fail(fetchError('symbol_not_found', 'polygon'))).catch(() => undefined);
    expect(breakers.snapshot('polygon').state).toBe('closed');
  });

  it('a probe cancelled by the caller re-opens the circuit: it proved nothing', async () => {
    const { clock, breakers } = setup({ breaker: { failureThreshold: 1 } });
    await breakers.execute('polygon', fail(fetchError('transient', 'polygon'))).catch(() => undefined);
    clock.advance(60_000);
    const caller = new AbortController();
    const probe = breakers.execute('polygon', () => new Promise<never>(() => undefined), {
      signal: caller.signal,
    });
    await flush();
    expect(breakers.snapshot('polygon').state).toBe('half_open');
    caller.abort();
    await expect(probe).rejects.toMatchObject({ code: 'BREAKER_CANCELLED' });
    expect(breakers.snapshot('polygon')).toMatchObject({ state: 'open', probeAt: clock.now() + 60_000 });
  });

  it('listeners can unsubscribe and a throwing listener does not break the breaker', async () => {
    const { breakers } = setup({ breaker: { failureThreshold: 1 } });
    const seen: string[] = [];
    const sub = breakers.onStateChange((e) => seen.push(e.to));
    breakers.onStateChange(() => {
      throw new Error('listener bug');
    });
    await breakers.execute('yahoo', fail(fetchError('transient'))).catch(() => undefined);
    sub.dispose();
    sub.dispose();
    expect(seen).toEqual(['open']);
    expect(breakers.snapshot('yahoo').state).toBe('open');
  });
});

describe('retries', () => {
  it('retries transient errors with capped exponential delays (no jitter) on the injected scheduler', async () => {
    const { clock, breakers } = setup({
      breaker: { failureThreshold: 100 },
      retry: { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 1_000, jitter: 'none' },
    });
    const attemptsAt: number[] = [];
    const retries: RetryEvent[] = [];
    breakers.onRetry((e) => retries.push(e));
    const start = clock.now();
    const outcome = await settle(
      breakers.execute('yahoo', () => {
        attemptsAt.push(clock.now() - start);
        return Promise.reject(fetchError('transient'));
      }),
      clock,
      1,
    );
    expect(outcome.error).toMatchObject({ code: 'FETCH_TRANSIENT' });
    expect(retries.map((r) => r.delayMs)).toEqual([100, 200, 400, 800, 1_000]);
    expect(retries.map((r) => r.attempt)).toEqual([2, 3, 4, 5, 6]);
    expect(attemptsAt).toEqual([0, 100, 300, 700, 1_500, 2_500]);
    expect(breakers.snapshot('yahoo').counts).toMatchObject({
      calls: 1,
      attempts: 6,
      retries: 5,
      failures: 6,
    });
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps jittered delays within [0, maxDelayMs]', async () => {
    const { clock, breakers } = setup({
      breaker: { failureThreshold: 1_000 },
      retry: { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 400, jitter: 'decorrelated' },
    });
    const delays: number[] = [];
    breakers.onRetry((e) => delays.push(e.delayMs));
    for (let i = 0; i < 20; i++)
      await settle(breakers.execute('yahoo', fail(fetchError('transient'))), clock, 5);
    expect(delays).toHaveLength(20 * 7);
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(400);
    }
    // Jitter: not all equal.
    expect(new Set(delays.map((d) => Math.round(d))).size).toBeGreaterThan(10);
  });

  it('succeeds on a retry and returns the value', async () => {
    const { clock, breakers } = setup({ retry: { maxAttempts: 3, jitter: 'none' } });
    let n = 0;
    const outcome = await settle(
      breakers.execute('yahoo', () =>
        ++n < 3 ? Promise.reject(fetchError('transient')) : Promise.resolve('third'),
      ),
      clock,
    );
    expect(outcome.value).toBe('third');
    expect(breakers.snapshot('yahoo')).toMatchObject({
      consecutiveFailures: 0,
      counts: { attempts: 3, successes: 1, failures: 2 },
    });
  });

  it('does not retry non-retryable kinds (auth, unknown symbol)', async () => {
    const { clock, breakers } = setup({ retry: { maxAttempts: 5 } });
    for (const kind of ['auth', 'symbol_not_found', 'bad_request'] as const) {
      let n = 0;
      await settle(
        breakers.execute('yahoo', () => {
          n++;
          return Promise.reject(fetchError(kind));
        }),
        clock,
      );
      expect(n).toBe(1);
    }
  });

  it('stops retrying as soon as its own failures open the circuit', async () => {
    const { clock, breakers } = setup({
      breaker: { failureThreshold: 5 },
      retry: { maxAttempts: 3, jitter: 'none' },
    });
    let n = 0;
    const failing = () => {
      n++;
      return Promise.reject(fetchError('transient'));
    };
    await settle(breakers.execute('yahoo', failing), clock);
    const second = await settle(breakers.execute('yahoo', failing), clock);
    expect(n).toBe(5);
    expect(second.error).toMatchObject({ code: 'FETCH_TRANSIENT' });
    expect(breakers.snapshot('yahoo').state).toBe('open');
  });

  it('a rate limit without Retry-After is not retried in the same call', async () => {
    const { clock, breakers } = setup({ retry: { maxAttempts: 5 } });
    let n = 0;
    const outcome = await settle(
      breakers.execute('twelvedata', () => {
        n++;
        return Promise.reject(fetchError('rate_limited', 'twelvedata'));
      }),
      clock,
    );
    expect(n).toBe(1);
    expect(outcome.error).toMatchObject({ kind: 'rate_limited', tryNextSource: true });
    expect(breakers.isCallable('twelvedata')).toBe(true);
  });

  it('a short Retry-After is waited for (never less) and then retried', async () => {
    const { clock, breakers } = setup({
      retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 1_000, jitter: 'none' },
    });
    const attemptsAt: number[] = [];
    const start = clock.now();
    const outcome = await settle(
      breakers.execute('twelvedata', () => {
        attemptsAt.push(clock.now() - start);
        return attemptsAt.length === 1
          ? Promise.reject(fetchError('rate_limited', 'twelvedata', 700))
          : Promise.resolve('ok');
      }),
      clock,
      1,
    );
    expect(outcome.value).toBe('ok');
    expect(attemptsAt).toEqual([0, 700]);
    expect(breakers.snapshot('twelvedata')).toMatchObject({
      state: 'closed',
      consecutiveFailures: 0,
      coolingDownUntil: null,
    });
  });

  it('a long Retry-After fails at once and cools the source down until then, without tripping it', async () => {
    const { clock, breakers } = setup({ retry: { maxAttempts: 3, maxDelayMs: 1_000 } });
    let n = 0;
    const limited = () => {
      n++;
      return Promise.reject(fetchError('rate_limited', 'polygon', 20_000));
    };
    const first = await settle(breakers.execute('polygon', limited), clock);
    expect(first.error).toMatchObject({ kind: 'rate_limited' });
    expect(first.elapsedMs).toBeLessThan(20);
    const until = clock.now() - first.elapsedMs + 20_000;
    expect(breakers.isCallable('polygon')).toBe(false);
    expect(breakers.snapshot('polygon')).toMatchObject({
      state: 'closed',
      coolingDownUntil: until,
      callable: false,
    });
    const refused = await breakers.execute('polygon', limited).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'BREAKER_COOLING_DOWN', retryAt: until, tryNextSource: true });
    expect(n).toBe(1);
    clock.set(until);
    expect(breakers.isCallable('polygon')).toBe(true);
    await expect(breakers.execute('polygon', ok('again'))).resolves.toBe('again');
    expect(breakers.snapshot('polygon').counts).toMatchObject({ rejected: 1, ignoredErrors: 1, failures: 0 });
  });
});

describe('timeouts and cancellation', () => {
  it('aborts the attempt signal after timeoutMs and counts the timeout as a failure', async () => {
    const { clock, breakers } = setup({ timeoutMs: 2_000, breaker: { failureThreshold: 1 } });
    let seen: AbortSignal | undefined;
    const outcome = await settle(
      breakers.execute('yahoo', (signal) => {
        seen = signal;
        return new Promise<never>(() => undefined); // a hung upstream that ignores the signal
      }),
      clock,
      100,
    );
    expect(outcome.error).toMatchObject({ code: 'BREAKER_TIMEOUT', timeoutMs: 2_000, source: 'yahoo' });
    expect(outcome.elapsedMs).toBe(2_000);
    expect(seen!.aborted).toBe(true);
    expect(isBreakerError(seen!.reason, 'BREAKER_TIMEOUT')).toBe(true);
    expect(breakers.snapshot('yahoo')).toMatchObject({ state: 'open', counts: { timeouts: 1, failures: 1 } });
    expect(clock.pendingTimers).toBe(0);
  });

  it('retries after a timeout with a fresh signal', async () => {
    const { clock, breakers } = setup({ timeoutMs: 500, retry: { maxAttempts: 2, jitter: 'none' } });
    const signals: AbortSignal[] = [];
    const outcome = await settle(
      breakers.execute('yahoo', (signal) => {
        signals.push(signal);
        return signals.length === 1 ? new Promise<never>(() => undefined) : Promise.resolve('second');
      }),
      clock,
    );
    expect(outcome.value).toBe('second');
    expect(signals.map((s) => s.aborted)).toEqual([true, false]);
  });

  it('the caller aborting cancels the attempt, is not counted and is not retried', async () => {
    const { clock, breakers } = setup({ timeoutMs: 10_000, retry: { maxAttempts: 3 } });
    const caller = new AbortController();
    let seen: AbortSignal | undefined;
    let n = 0;
    const pending = breakers.execute(
      'yahoo',
      (signal) => {
        n++;
        seen = signal;
        return new Promise<never>((_, reject) =>
          signal.addEventListener('abort', () => reject(fetchError('aborted'))),
        );
      },
      { signal: caller.signal },
    );
    await flush();
    caller.abort();
    const error = await pending.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BREAKER_CANCELLED', tryNextSource: false });
    expect(seen!.aborted).toBe(true);
    expect(n).toBe(1);
    expect(breakers.snapshot('yahoo')).toMatchObject({
      consecutiveFailures: 0,
      counts: { failures: 0, ignoredErrors: 0 },
    });
    expect(clock.pendingTimers).toBe(0);
  });

  it('the caller aborting during a retry wait cancels the wait', async () => {
    const { clock, breakers } = setup({
      retry: { maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 1_000, jitter: 'none' },
    });
    const caller = new AbortController();
    const pending = breakers.execute('yahoo', fail(fetchError('transient')), { signal: caller.signal });
    await flush();
    expect(clock.pendingTimers).toBe(1);
    caller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'BREAKER_CANCELLED' });
    expect(clock.pendingTimers).toBe(0);
  });

  it('leaves no listeners on a long-lived caller signal, whatever the outcome', async () => {
    const { clock, breakers } = setup({
      timeoutMs: 100,
      retry: { maxAttempts: 2, jitter: 'none' },
      breaker: { failureThreshold: 1_000 },
    });
    const shutdown = new AbortController();
    const outcomes = [
      ok(1),
      fail(fetchError('transient')),
      fail(fetchError('symbol_not_found')),
      () => new Promise<never>(() => undefined),
    ];
    for (let i = 0; i < 40; i++) {
      await settle(breakers.execute('yahoo', outcomes[i % 4]!, { signal: shutdown.signal }), clock);
    }
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('close() cancels waits and refuses later calls', async () => {
    const { clock, breakers } = setup({
      retry: { maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 1_000, jitter: 'none' },
    });
    const pending = breakers.execute('yahoo', fail(fetchError('transient')));
    await flush();
    breakers.close();
    await expect(pending).rejects.toMatchObject({ code: 'BREAKER_CANCELLED' });
    await expect(breakers.execute('yahoo', ok(1))).rejects.toMatchObject({ code: 'BREAKER_CANCELLED' });
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('snapshot', () => {
  it('reports success rate and nearest-rank latency percentiles over a bounded window', async () => {
    const { clock, breakers } = setup({ windowSize: 100, breaker: { failureThreshold: 1_000 } });
    // 150 attempts; only the last 100 count: latencies 51..150 ms, every 4th one failing.
    for (let i = 1; i <= 150; i++) {
      await breakers
        .execute('yahoo', () => {
          clock.advance(i);
          return i % 4 === 0 ? Promise.reject(fetchError('transient')) : Promise.resolve(i);
        })
        .catch(() => undefined);
    }
    const s = breakers.snapshot('yahoo');
    expect(s.windowSamples).toBe(100);
    expect(s.latencyMs).toEqual({ p50: 100, p90: 140, p99: 149 });
    expect(s.successRate).toBeCloseTo(75 / 100, 10);
    expect(s.counts).toMatchObject({ calls: 150, attempts: 150, successes: 113, failures: 37 });
    expect(s.lastError).toMatchObject({ code: 'FETCH_TRANSIENT', message: '[yahoo] transient from test' });
  });

  it('is empty-safe and lists every source seen', async () => {
    const { breakers } = setup();
    expect(breakers.snapshot()).toEqual({});
    expect(breakers.snapshot('polygon')).toMatchObject({
      successRate: null,
      latencyMs: { p50: null, p90: null, p99: null },
      lastError: null,
    });
    await breakers.execute('yahoo', ok(1));
    expect(Object.keys(breakers.snapshot()).sort()).toEqual(['polygon', 'yahoo']);
  });

  it('never keeps secrets from error messages', async () => {
    const { breakers } = setup();
    await breakers
      .execute(
        'alphavantage',
        fail(
          new Error(
            'GET https://user:pw@x.test/q?function=X&apikey=SECRET123 failed; Authorization: Bearer tok.en-99',
          ),
        ),
      )
      .catch(() => undefined);
    const message = breakers.snapshot('alphavantage').lastError!.message;
    expect(message).not.toMatch(/SECRET123|tok\.en-99|user:pw/);
    expect(message).toContain('apikey=***'); // core's one mask (was '[redacted]' before issue 11)
    expect(JSON.stringify(breakers.exportState())).not.toContain('SECRET123');
  });
});

describe('exportState / restoreState', () => {
  it('keeps an open breaker open across a restart until its probe time', async () => {
    const { clock, breakers } = setup({ breaker: { failureThreshold: 2 } });
    await breakers.execute('yahoo', fail(fetchError('transient'))).catch(() => undefined);
    await breakers.execute('yahoo', fail(fetchError('transient'))).catch(() => undefined);
    await breakers.execute('polygon', fail(fetchError('transient', 'polygon'))).catch(() => undefined);
    const probeAt = breakers.snapshot('yahoo').probeAt!;
    const saved = JSON.parse(JSON.stringify(breakers.exportState())) as unknown;

    clock.advance(20_000); // the restart takes 20 s
    const restarted = createBreakerRegistry({
      clock,
      retry: { maxAttempts: 1 },
      timeoutMs: 0,
      breaker: { failureThreshold: 2 },
    });
    restarted.restoreState(saved);
    expect(restarted.snapshot('yahoo')).toMatchObject({
      state: 'open',
      probeAt,
      callable: false,
      consecutiveFailures: 2,
    });
    expect(restarted.snapshot('polygon')).toMatchObject({ state: 'closed', consecutiveFailures: 1 });
    let called = false;
    await expect(
      restarted.execute('yahoo', () => {
        called = true;
        return Promise.resolve(1);
      }),
    ).rejects.toMatchObject({ code: 'BREAKER_OPEN', probeAt });
    expect(called).toBe(false);

    // One more failure opens polygon: its count survived the restart.
    await restarted.execute('polygon', fail(fetchError('transient', 'polygon'))).catch(() => undefined);
    expect(restarted.snapshot('polygon').state).toBe('open');

    clock.set(probeAt);
    expect(restarted.isCallable('yahoo')).toBe(true);
    await expect(restarted.execute('yahoo', ok('probe'))).resolves.toBe('probe');
    expect(restarted.snapshot('yahoo').state).toBe('closed');
  });

  it('a half-open breaker is saved as open with an immediate probe', async () => {
    const { clock, breakers } = setup({ breaker: { failureThreshold: 1 } });
    await breakers.execute('yahoo', fail(fetchError('transient'))).catch(() => undefined);
    clock.advance(60_000);
    const probe = breakers.execute('yahoo', () => new Promise<never>(() => undefined));
    void probe.catch(() => undefined);
    await flush();
    const saved = breakers.exportState();
    expect(saved.sources.yahoo).toMatchObject({ state: 'open', probeAt: clock.now() });
    const restarted = createBreakerRegistry({ clock });
    restarted.restoreState(saved);
    expect(restarted.isCallable('yahoo')).toBe(true);
  });

  it('rejects malformed state with BREAKER_BAD_STATE and changes nothing', async () => {
    const { breakers } = setup({ breaker: { failureThreshold: 1 } });
    await breakers.execute('yahoo', fail(fetchError('transient'))).catch(() => undefined);
    const bad = [
      null,
      { version: 2, sources: {} },
      {
        version: 1,
        sources: {
          yahoo: { state: 'closed', consecutiveFailures: 0 },
          // Any non-empty name is a source since issue 15 (a broker API); an empty one is not.
          '': { state: 'closed', consecutiveFailures: 0 },
        },
      },
      { version: 1, sources: { yahoo: { state: 'open', consecutiveFailures: 1, openedAt: 5 } } },
      { version: 1, sources: { yahoo: { state: 'weird', consecutiveFailures: 1 } } },
    ];
    for (const saved of bad) {
      const error = (() => {
        try {
          breakers.restoreState(saved);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(isBreakerError(error, 'BREAKER_BAD_STATE')).toBe(true);
    }
    expect(breakers.snapshot('yahoo').state).toBe('open');
  });
});
