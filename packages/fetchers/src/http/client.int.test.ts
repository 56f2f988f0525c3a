import { ManualClock } from '@pipeline/core';
import { fixtureReply, startFixtureServer, type FixtureServer } from '@pipeline/test-utils';
import { createHttpClient, parseRetryAfter, type HttpClient } from './client';
import { redactUrl } from '@pipeline/core';
import { failure } from '../testing/failure';

const KEY = 'SECRETKEY123';

describe('createHttpClient against a real local server', () => {
  let srv: FixtureServer;
  let client: HttpClient;
  beforeAll(async () => {
    srv = await startFixtureServer(() => ({ body: '{"ok":true}' }));
  });
  afterAll(async () => {
    await srv.close();
  });
  beforeEach(() => {
    client = createHttpClient({ source: 'alphavantage', timeoutMs: 300, secrets: [KEY], poolSize: 2 });
  });
  afterEach(async () => {
    await client.close();
  });

  it('parses JSON and reuses keep-alive sockets', async () => {
    srv.setHandler(() => ({ body: '{"ok":true}' }));
    const before = srv.connections;
    for (let i = 0; i < 5; i++) {
      const res = await client.getJson(`${srv.url}/query`, { searchParams: { apikey: KEY, n: i } });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true });
      expect(res.url).not.toContain(KEY);
    }
    expect(srv.connections - before).toBe(1);
    expect(srv.requests.at(-1)!.query.get('n')).toBe('4');
    expect(client.stats().requests).toBe(5);
  });

  it('caps concurrent sockets at poolSize', async () => {
    srv.setHandler(() => ({ body: '{}', delayMs: 30 }));
    const before = srv.connections;
    await Promise.all(Array.from({ length: 6 }, () => client.getJson(srv.url)));
    expect(srv.connections - before).toBeLessThanOrEqual(2);
  });

  it('maps a hung server to transient after timeoutMs, key redacted', async () => {
    srv.setHandler(() => ({ hang: true }));
    const t0 = Date.now();
    const err = await failure(client.getJson(`${srv.url}/q`, { searchParams: { apikey: KEY } }));
    expect(err.kind).toBe('transient');
    expect(err.message).toMatch(/timed out after 300 ms/);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(err.message).not.toContain(KEY);
    expect(String((err.cause as Error).message)).not.toContain(KEY);
    expect(JSON.stringify(err)).not.toContain(KEY);
  });

  it('accepts a slow server that answers within the timeout', async () => {
    srv.setHandler(() => ({ body: '{"slow":1}', delayMs: 100 }));
    const res = await client.getJson(srv.url);
    expect(res.body).toEqual({ slow: 1 });
  });

  it('maps a connection reset to transient', async () => {
    srv.setHandler(() => ({ reset: true }));
    const err = await failure(client.getJson(`${srv.url}/?token=${KEY}`));
    expect(err.kind).toBe('transient');
    expect(err.retryable).toBe(true);
    expect(err.message).not.toContain(KEY);
  });

  it('maps a refused connection to transient', async () => {
    const dead = await startFixtureServer(() => ({}));
    const url = dead.url;
    await dead.close();
    const err = await failure(client.getJson(`${url}/?apikey=${KEY}`));
    expect(err.kind).toBe('transient');
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(err.message).not.toContain(KEY);
  });

  it('maps a truncated JSON body to malformed', async () => {
    srv.setHandler(() => ({ body: '{"a":[1,2,3,4,5,6,7,8,9]}', truncateAt: 7 }));
    const err = await failure(client.getJson(srv.url));
    expect(err.kind).toBe('malformed');
  });

  it('maps HTML and empty 200 bodies to malformed', async () => {
    srv.setHandler(() => ({
      body: '<html><body>Oops</body></html>',
      headers: { 'content-type': 'text/html' },
    }));
    expect((await failure(client.getJson(srv.url))).message).toMatch(/HTML page/);
    srv.setHandler(() => ({ body: '' }));
    const err = await failure(client.getJson(srv.url));
    expect(err.kind).toBe('malformed');
    expect(err.message).toMatch(/empty body/);
  });

  it('maps 5xx HTML to transient, 401/403 to auth, 404 to the endpoint kind', async () => {
    srv.setHandler(() => ({
      status: 503,
      body: '<html>Service Unavailable</html>',
      headers: { 'content-type': 'text/html' },
    }));
    const e503 = await failure(client.getJson(`${srv.url}/?apikey=${KEY}`));
    expect([e503.kind, e503.status, e503.countsForBreaker]).toEqual(['transient', 503, true]);
    expect(e503.message).not.toContain(KEY);
    srv.setHandler(() => ({ status: 401, body: 'nope' }));
    expect((await failure(client.getJson(srv.url))).kind).toBe('auth');
    srv.setHandler(() => ({ status: 403, body: 'forbidden' }));
    expect((await failure(client.getJson(srv.url))).kind).toBe('auth');
    srv.setHandler(() => ({ status: 404, body: 'Not Found' }));
    expect((await failure(client.getJson(srv.url))).kind).toBe('bad_request');
    const res = await client.getText(srv.url);
    expect(client.statusError(res, { notFoundKind: 'symbol_not_found' }).kind).toBe('symbol_not_found');
  });

  it('maps a plain-text 429 to rate_limited with Retry-After seconds', async () => {
    srv.setHandler(() =>
      fixtureReply('yahoo/error-429-edge-too-many-requests.txt', {
        status: 429,
        headers: { 'content-type': 'text/plain', 'retry-after': '17' },
      }),
    );
    const err = await failure(client.getJson(srv.url));
    expect(err.kind).toBe('rate_limited');
    expect(err.retryAfterMs).toBe(17_000);
    expect(err.message).toMatch(/Edge: Too Many Requests/);
  });

  it('maps an aborted request to aborted', async () => {
    srv.setHandler(() => ({ hang: true }));
    const ac = new AbortController();
    const p = failure(client.getJson(srv.url, { signal: ac.signal }));
    setTimeout(() => ac.abort(), 20);
    const err = await p;
    expect(err.kind).toBe('aborted');
    expect(err.tryNextSource).toBe(false);
    const pre = new AbortController();
    pre.abort();
    const before = srv.requests.length;
    expect((await failure(client.getJson(srv.url, { signal: pre.signal }))).kind).toBe('aborted');
    expect(srv.requests.length).toBe(before);
  });

  it('rejects bad options quoting the value', () => {
    expect(() => createHttpClient({ source: 'yahoo', poolSize: 0 })).toThrow(/poolSize.*got 0/);
    expect(() => createHttpClient({ source: 'yahoo', timeout: 5 } as never)).toThrow(
      /unknown option "timeout"/,
    );
  });
});

describe('parseRetryAfter and redactUrl', () => {
  it('reads seconds and HTTP dates', () => {
    const clock = new ManualClock(Date.UTC(2024, 0, 2, 12, 0, 0));
    expect(parseRetryAfter('120', clock.now())).toBe(120_000);
    expect(parseRetryAfter('Tue, 02 Jan 2024 12:00:30 GMT', clock.now())).toBe(30_000);
    expect(parseRetryAfter('Tue, 02 Jan 2024 11:00:00 GMT', clock.now())).toBe(0);
    expect(parseRetryAfter('soon', clock.now())).toBeUndefined();
    expect(parseRetryAfter(undefined, clock.now())).toBeUndefined();
  });

  it('masks every secret query parameter and nothing else', () => {
    expect(redactUrl('https://x.io/q?function=A&apikey=abc&symbol=IBM')).toBe(
      'https://x.io/q?function=A&apikey=***&symbol=IBM',
    );
    expect(redactUrl('/v2/aggs?apiKey=abc')).toBe('/v2/aggs?apiKey=***');
    expect(redactUrl('/x?api_token=1&token=2&access_token=3')).toBe(
      '/x?api_token=***&token=***&access_token=***',
    );
  });
});
