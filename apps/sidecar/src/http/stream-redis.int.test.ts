// The push streams with the hot cache on Redis (127.0.0.1:6379 under this test's own key prefix,
// deleted afterwards) and API_TOKEN set: SSE through @pipeline/client and the WebSocket twin carry
// the bars the Redis cache holds, and a resume older than the ring backfills through it.
import { createClient, isClientError, type StreamEvent } from '@pipeline/client';
import { ManualClock } from '@pipeline/core';
import { TEST_REDIS_URL, cleanupTempDirs, deleteRedisPrefix, uniqueRedisPrefix } from '@pipeline/test-utils';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { buildApp } from './api';
import { createStreamHub, type StreamHub } from './stream-hub';
import { subscribed, take } from '../../test/at';
import { createHarness, type Harness } from '../../test/harness';

const TOKEN = 'stream-redis-token-0123456789';
const MINUTE = 60_000;

describe('push streams with CACHE on Redis and API_TOKEN', () => {
  const prefix = uniqueRedisPrefix('stream');
  const clock = new ManualClock(Date.UTC(2024, 0, 3, 12, 0, 0));
  let redis: Redis;
  let h: Harness;
  let hub: StreamHub;
  let app: ReturnType<typeof buildApp>;
  let baseUrl: string;
  const cycle = async (n: number) => {
    for (let i = 0; i < n; i++) {
      clock.advance(MINUTE);
      await h.sidecar.runCycle();
    }
  };

  beforeAll(async () => {
    redis = new Redis(TEST_REDIS_URL);
    h = createHarness(
      { SYMBOLS: 'EURUSD,XAUUSD', REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix },
      {},
      clock,
    );
    hub = createStreamHub({ ringSize: 5, now: () => clock.now() });
    app = buildApp(h.sidecar, { apiToken: TOKEN, streamHub: hub });
    baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    await cycle(2);
  });
  afterAll(async () => {
    await app?.close();
    await h?.sidecar.stop();
    await deleteRedisPrefix(redis, prefix);
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
    await redis.quit();
    cleanupTempDirs();
  });

  it('the cache really is Redis under the test prefix', async () => {
    expect(h.deps.cache.kind).toBe('redis');
    // The cycle's cache writes settle after it returns (the bars and their fan-out entry are
    // separate commands: wait for both, a loaded machine ran the check between them).
    const want = [`${prefix}bars:{EURUSD}:1m`, `${prefix}stream:bars`];
    let keys: string[] = [];
    for (let i = 0; i < 100 && !want.every((k) => keys.includes(k)); i++) {
      await new Promise((r) => setTimeout(r, 20));
      keys = await redis.keys(`${prefix}*`);
    }
    expect(keys).toEqual(expect.arrayContaining(want));
  });

  it('SSE (Bearer token): bars, features and signals of a cycle; the bar is the one /bars reads from Redis', async () => {
    expect((await fetch(`${baseUrl}/stream`)).status).toBe(401);
    const client = createClient({ baseUrl, token: TOKEN });
    const ac = new AbortController();
    const it = client.stream({ symbols: ['EURUSD'], signal: ac.signal });
    const subs0 = hub.subscriptions;
    const first = it.next();
    await subscribed(hub, subs0);
    await cycle(1);
    const events = [(await first).value as StreamEvent, ...(await take(it, 3))];
    ac.abort();
    const kinds = new Set(events.map((e) => e.kind));
    expect(kinds).toEqual(new Set(['bars', 'features', 'signals']));
    const forming = events.filter((e) => e.kind === 'bars').at(-1);
    const want = forming?.data as { ts: number; close: number };
    // /bars reads Redis: the same bar once the cycle's cache write has settled.
    let fromApi = await client.bars('EURUSD', { limit: 1 });
    for (let i = 0; i < 100 && fromApi.bars.at(-1)?.close !== want.close; i++) {
      await new Promise((r) => setTimeout(r, 20));
      fromApi = await client.bars('EURUSD', { limit: 1 });
    }
    expect(fromApi.bars.at(-1)).toMatchObject({ ts: want.ts, close: want.close });
  });

  it('WebSocket (?token=): the same events, and 401 without the token', async () => {
    const unauth = new WebSocket(`${baseUrl.replace('http', 'ws')}/stream/ws`);
    const status = await new Promise((r) =>
      unauth.once('unexpected-response', (req, res) => {
        req.destroy();
        r(res.statusCode);
      }),
    );
    expect(status).toBe(401);
    const ws = new WebSocket(
      `${baseUrl.replace('http', 'ws')}/stream/ws?symbols=XAUUSD&kinds=bars,signals&lastEventId=${hub.lastId}&token=${TOKEN}`,
    );
    const got: StreamEvent[] = [];
    ws.on('message', (m) => got.push(JSON.parse((m as Buffer).toString('utf8')) as StreamEvent));
    await new Promise((r) => ws.once('open', r));
    await cycle(1);
    for (let i = 0; i < 50 && !got.some((e) => e.kind === 'signals'); i++)
      await new Promise((r) => setTimeout(r, 20));
    ws.close();
    expect(got.map((e) => e.kind)).toEqual(expect.arrayContaining(['bars', 'signals']));
    expect(got.every((e) => 'symbol' in e && e.symbol === 'XAUUSD')).toBe(true);
    const ids = got.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it("the client's WebSocket mode (token as a header through ws) gets the cycle's events", async () => {
    const ac = new AbortController();
    const it = createClient({ baseUrl, token: TOKEN }).stream({
      transport: 'websocket',
      symbols: ['EURUSD'],
      kinds: ['bars', 'features'],
      lastEventId: hub.lastId,
      signal: ac.signal,
    });
    const subs0 = hub.subscriptions;
    const first = it.next();
    await subscribed(hub, subs0);
    await cycle(1);
    const events = [(await first).value as StreamEvent, ...(await take(it, 2))];
    ac.abort();
    expect(new Set(events.map((e) => e.kind))).toEqual(new Set(['bars', 'features']));
    const bar = events.filter((e) => e.kind === 'bars').at(-1)?.data as { ts: number; close: number };
    // The same bar is in Redis once the cycle's cache write has settled.
    let cached = await h.deps.cache.latestBars('EURUSD', '1m', 1);
    for (let i = 0; i < 100 && cached.at(-1)?.close !== bar.close; i++) {
      await new Promise((r) => setTimeout(r, 20));
      cached = await h.deps.cache.latestBars('EURUSD', '1m', 1);
    }
    expect(cached.at(-1)).toMatchObject({ ts: bar.ts, close: bar.close });
  });

  it('a resume older than the ring backfills the finished bars through the Redis cache and store', async () => {
    const mark = hub.lastId;
    await cycle(6); // far more bars events than the ring of 5 keeps
    const client = createClient({ baseUrl, token: TOKEN });
    const ac = new AbortController();
    const events = await take(
      client.stream({ kinds: ['bars'], symbols: ['EURUSD'], lastEventId: mark, signal: ac.signal }),
      6,
    );
    ac.abort();
    expect(events.some((e) => e.kind === 'reset')).toBe(false);
    expect(events.every((e) => e.id === mark && (e.data as { final: boolean }).final)).toBe(true);
    const ts = events.map((e) => (e.data as { ts: number }).ts);
    expect(ts).toEqual(ts.map((_, i) => (ts[0] ?? 0) + i * MINUTE));
  });

  it('a wrong token is refused on both transports', async () => {
    const err = await createClient({ baseUrl, token: 'wrong' })
      .stream()
      .next()
      .catch((e: unknown) => e);
    expect(isClientError(err, 'HTTP') && err.status).toBe(401);
    const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}/stream/ws?token=wrong`);
    const status = await new Promise((r) =>
      ws.once('unexpected-response', (req, res) => {
        req.destroy();
        r(res.statusCode);
      }),
    );
    expect(status).toBe(401);
  });
});
