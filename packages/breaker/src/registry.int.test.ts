// The breaker in front of a real HTTP client (Node's fetch) talking to a real local server that
// replays recorded provider answers and scripted faults. Real timers, kept short.
import { FetchError, systemClock, type SourceName } from '@pipeline/core';
import { fixtureReply, startFixtureServer, type FixtureServer } from '@pipeline/test-utils';
import { createBreakerRegistry } from './index';

/** What a fetcher does: one GET, HTTP outcome mapped onto core's FetchError kinds. */
async function getJson(source: SourceName, url: string, signal: AbortSignal): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (cause) {
    throw new FetchError({
      kind: signal.aborted ? 'aborted' : 'transient',
      source,
      message: 'request failed',
      cause,
    });
  }
  if (res.status === 429) {
    const after = Number(res.headers.get('retry-after'));
    await res.body?.cancel();
    throw new FetchError({
      kind: 'rate_limited',
      source,
      status: 429,
      message: 'too many requests',
      retryAfterMs: Number.isFinite(after) && after > 0 ? after * 1000 : undefined,
    });
  }
  if (res.status >= 500) {
    await res.body?.cancel();
    throw new FetchError({ kind: 'transient', source, status: res.status, message: `HTTP ${res.status}` });
  }
  if (res.status === 404) {
    await res.body?.cancel();
    throw new FetchError({ kind: 'symbol_not_found', source, status: 404, message: 'no such symbol' });
  }
  return res.json();
}

describe('breaker in front of a real HTTP server', () => {
  let server: FixtureServer;
  beforeEach(async () => {
    server = await startFixtureServer(() =>
      fixtureReply('yahoo/chart-TSLA-30m-2021-11-22-includePrePost.json'),
    );
  });
  afterEach(async () => {
    await server.close();
  });

  it('serves recorded bars and measures latency', async () => {
    const breakers = createBreakerRegistry({ clock: systemClock });
    const body = (await breakers.execute('yahoo', (signal) =>
      getJson('yahoo', `${server.url}/chart`, signal),
    )) as {
      chart: { result: unknown[] };
    };
    expect(body.chart.result).toHaveLength(1);
    const s = breakers.snapshot('yahoo');
    expect(s).toMatchObject({ state: 'closed', successRate: 1, windowSamples: 1 });
    expect(s.latencyMs.p50).toBeGreaterThanOrEqual(0);
  });

  it('a hung upstream is aborted by the timeout: the HTTP request is cancelled and retried', async () => {
    server.setHandler(() => ({ hang: true }));
    const breakers = createBreakerRegistry({
      timeoutMs: 150,
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
    });
    const requests: Array<Promise<unknown>> = [];
    const started = Date.now();
    await expect(
      breakers.execute('yahoo', (signal) => {
        const request = getJson('yahoo', `${server.url}/chart`, signal);
        requests.push(request);
        return request;
      }),
    ).rejects.toMatchObject({ code: 'BREAKER_TIMEOUT' });
    // The HTTP client itself saw the abort: both requests ended as 'aborted', not by the server.
    const outcomes = await Promise.allSettled(requests);
    expect(outcomes.map((o) => o.status === 'rejected' && (o.reason as FetchError).kind)).toEqual([
      'aborted',
      'aborted',
    ]);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(2_000);
    expect(server.requests).toHaveLength(2);
    expect(breakers.snapshot('yahoo').counts).toMatchObject({ timeouts: 2, failures: 2 });
  });

  it('5xx answers open the circuit; then the server is not contacted until the probe', async () => {
    server.setHandler(() => ({ status: 503, body: 'unavailable' }));
    const breakers = createBreakerRegistry({
      breaker: { failureThreshold: 3, halfOpenAfterMs: 200 },
      retry: { maxAttempts: 1 },
    });
    const call = () => breakers.execute('yahoo', (signal) => getJson('yahoo', `${server.url}/chart`, signal));
    for (let i = 0; i < 3; i++) await expect(call()).rejects.toMatchObject({ status: 503 });
    await expect(call()).rejects.toMatchObject({ code: 'BREAKER_OPEN' });
    expect(server.requests).toHaveLength(3);
    server.setHandler(() => fixtureReply('yahoo/chart-TSLA-30m-2021-11-22-includePrePost.json'));
    await new Promise((r) => setTimeout(r, 220));
    await expect(call()).resolves.toBeDefined();
    expect(server.requests).toHaveLength(4);
    expect(breakers.snapshot('yahoo').state).toBe('closed');
  });

  it('a recorded 429 with Retry-After cools the source down without tripping it', async () => {
    server.setHandler(() =>
      fixtureReply('yahoo/error-429-too-many-requests-crlf.txt', { headers: { 'retry-after': '30' } }),
    );
    const breakers = createBreakerRegistry({ breaker: { failureThreshold: 1 } });
    const call = () => breakers.execute('yahoo', (signal) => getJson('yahoo', `${server.url}/chart`, signal));
    await expect(call()).rejects.toMatchObject({ kind: 'rate_limited', retryAfterMs: 30_000 });
    await expect(call()).rejects.toMatchObject({ code: 'BREAKER_COOLING_DOWN' });
    expect(server.requests).toHaveLength(1);
    expect(breakers.snapshot('yahoo')).toMatchObject({ state: 'closed', callable: false });
  });

  it('an unknown symbol (recorded 404) does not trip the circuit', async () => {
    server.setHandler(() => fixtureReply('yahoo/chart-MDLY-1d-404-no-data-found-delisted.json'));
    const breakers = createBreakerRegistry({ breaker: { failureThreshold: 2 } });
    for (let i = 0; i < 4; i++) {
      await expect(
        breakers.execute('yahoo', (signal) => getJson('yahoo', `${server.url}/chart`, signal)),
      ).rejects.toMatchObject({ kind: 'symbol_not_found' });
    }
    expect(server.requests).toHaveLength(4);
    expect(breakers.snapshot('yahoo')).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
  });
});
