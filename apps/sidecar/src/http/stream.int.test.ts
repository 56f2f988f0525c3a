import { connect, type Socket } from 'node:net';
import { createClient, isClientError, type StreamEvent } from '@pipeline/client';
import { cleanupTempDirs } from '@pipeline/test-utils';
import { WebSocket } from 'ws';
import { buildApp } from './api';
import { createStreamHub, type StreamHub } from './stream-hub';
import { subscribed, take, until } from '../../test/at';
import { createHarness, type Harness } from '../../test/harness';

afterAll(() => cleanupTempDirs());

const TOKEN = 'stream-token-0123456789';

describe('push streams against a real listening sidecar', () => {
  let h: Harness;
  let app: ReturnType<typeof buildApp>;
  let baseUrl: string;
  let hub: StreamHub;

  beforeAll(async () => {
    h = createHarness({ SYMBOLS: 'EURUSD,XAUUSD' });
    // Ids from the harness's manual clock: consecutive within a test (the clock stands still).
    hub = createStreamHub({ ringSize: 5, maxQueue: 8, now: () => h.clock.now() });
    app = buildApp(h.sidecar, { apiToken: TOKEN, streamHub: hub });
    baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    await h.sidecar.stop();
  });

  it('SSE: bars, features and signals of the chosen symbols from real cycles, in id order', async () => {
    const client = createClient({ baseUrl, token: TOKEN });
    const ac = new AbortController();
    const it = client.stream({ symbols: ['EURUSD'], kinds: ['bars', 'signals'], signal: ac.signal });
    const subs0 = hub.subscriptions;
    const first = it.next();
    await subscribed(hub, subs0);
    await h.sidecar.runCycle();
    const events = [(await first).value as StreamEvent, ...(await take(it, 2))];
    ac.abort();
    expect(events.every((e) => e.kind !== 'features' && e.kind !== 'health')).toBe(true);
    expect(events.every((e) => !('symbol' in e) || e.symbol === 'EURUSD')).toBe(true);
    expect(events.map((e) => e.kind)).toContain('bars');
    const ids = events.map((e) => e.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('needs the token (Bearer or ?token=) and answers 400 for a bad kind', async () => {
    expect((await fetch(`${baseUrl}/stream`)).status).toBe(401);
    const bad = await fetch(`${baseUrl}/stream?kinds=bars,ticks&token=${TOKEN}`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
    const unknown = await fetch(`${baseUrl}/stream?symbols=NOPE&token=${TOKEN}`);
    expect(unknown.status).toBe(404);
    // The WebSocket twin answers the same statuses before the upgrade.
    for (const [query, want] of [
      ['kinds=bars,ticks', 400],
      ['symbols=NOPE', 404],
    ] as const) {
      const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}/stream/ws?${query}&token=${TOKEN}`);
      const status = await new Promise((r) =>
        ws.once('unexpected-response', (req, res) => {
          req.destroy();
          r(res.statusCode);
        }),
      );
      expect(status).toBe(want);
    }
    const ac = new AbortController();
    const ok = await fetch(`${baseUrl}/stream?token=${TOKEN}`, { signal: ac.signal });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/text\/event-stream/);
    ac.abort();
  });

  it('resumes after Last-Event-ID without a gap; older than the ring says reset', async () => {
    const mark = hub.lastId;
    for (let i = 0; i < 3; i++) hub.publish('signals', 'XAUUSD', { n: i });
    const client = createClient({ baseUrl, token: TOKEN });
    const ac = new AbortController();
    const resumed = await take(
      client.stream({ kinds: ['signals'], symbols: ['XAUUSD'], lastEventId: mark, signal: ac.signal }),
      3,
    );
    ac.abort();
    expect(resumed.map((e) => e.data)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    expect(resumed.map((e) => e.id)).toEqual([mark + 1, mark + 2, mark + 3]);

    for (let i = 0; i < 10; i++) hub.publish('signals', 'XAUUSD', { n: i }); // ring holds 5
    const ac2 = new AbortController();
    const [reset, ...rest] = await take(
      client.stream({ kinds: ['signals'], lastEventId: mark, signal: ac2.signal }),
      6,
    );
    ac2.abort();
    expect(reset).toMatchObject({ kind: 'reset', data: { kinds: ['signals'] } });
    expect(rest.map((e) => e.data)).toEqual([5, 6, 7, 8, 9].map((n) => ({ n })));
  });

  it('the client reconnects after the server drops it and resumes from the last id', async () => {
    const client = createClient({ baseUrl, token: TOKEN, reconnectInitialDelayMs: 20, random: () => 0.5 });
    const ac = new AbortController();
    const reconnects: number[] = [];
    const it = client.stream({
      kinds: ['health'],
      signal: ac.signal,
      onReconnect: (r) => reconnects.push(r.delayMs),
    });
    const subs0 = hub.subscriptions;
    const p = it.next();
    await subscribed(hub, subs0);
    hub.publish('health', undefined, { status: 'ok', k: 1 });
    expect((await p).value).toMatchObject({ kind: 'health', data: { k: 1 } });
    // Cut every open stream socket: the client must come back with Last-Event-ID and see k: 2.
    app.server.closeAllConnections();
    hub.publish('health', undefined, { status: 'ok', k: 2 });
    const next = await it.next();
    ac.abort();
    expect(next.value).toMatchObject({ kind: 'health', data: { k: 2 } });
    expect(reconnects).toEqual([10]);
  });

  it('a burst of 4 x maxQueue events in one turn reaches clients that read (SSE and WebSocket), no drop', async () => {
    // A cycle publishes an event per symbol in one synchronous run (a batch source answers every
    // symbol at once): more than maxQueue (8 here) events, none of them unsent once the turn ends.
    const client = createClient({ baseUrl, token: TOKEN });
    const ac = new AbortController();
    const sse = client.stream({ kinds: ['signals'], symbols: ['EURUSD'], signal: ac.signal });
    const ws = new WebSocket(
      `${baseUrl.replace('http', 'ws')}/stream/ws?kinds=signals&symbols=EURUSD&lastEventId=${hub.lastId}&token=${TOKEN}`,
    );
    const wsGot: number[] = [];
    ws.on('message', (m) =>
      wsGot.push((JSON.parse((m as Buffer).toString('utf8')) as { data: { b: number } }).data.b),
    );
    await new Promise((r) => ws.once('open', r));
    const subs0 = hub.subscriptions;
    const first = sse.next();
    await subscribed(hub, subs0);
    const before = hub.subscribers;
    for (let b = 0; b < 32; b++) hub.publish('signals', 'EURUSD', { b });
    const got = [((await first).value as StreamEvent).data, ...(await take(sse, 31)).map((e) => e.data)];
    expect(got).toEqual(Array.from({ length: 32 }, (_, b) => ({ b })));
    await until(() => wsGot.length >= 32, 'the WebSocket client to get 32 events');
    expect(wsGot).toEqual(Array.from({ length: 32 }, (_, b) => b));
    expect(hub.subscribers).toBe(before);
    ac.abort();
    ws.close();
  });

  it('a client that does not read is dropped with SLOW_CONSUMER, memory bounded by maxQueue', async () => {
    const port = Number(new URL(baseUrl).port);
    const sock = connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const subs0 = hub.subscriptions;
    sock.write(`GET /stream?kinds=bars&token=${TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await subscribed(hub, subs0);
    sock.pause();
    const big = 'x'.repeat(256 * 1024);
    const before = hub.subscribers;
    // One event per turn: the backlog is judged when a turn ends.
    for (let i = 0; i < 400 && hub.subscribers === before; i++) {
      hub.publish('bars', 'EURUSD', { big });
      await new Promise((r) => setImmediate(r));
    }
    expect(hub.subscribers).toBe(before - 1);
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.resume();
    await new Promise((r) => sock.once('close', r));
    const tail = Buffer.concat(chunks).toString('utf8').slice(-300);
    expect(tail).toMatch(/event: error\ndata: \{"code":"SLOW_CONSUMER"/);
  });

  it('WebSocket twin: token in the query, resume by a first message, 1008 for a slow client', async () => {
    const mark = hub.lastId;
    hub.publish('features', 'EURUSD', { v: 1 });
    hub.publish('features', 'XAUUSD', { v: 2 });
    const ws = new WebSocket(
      `${baseUrl.replace('http', 'ws')}/stream/ws?kinds=features&symbols=EURUSD&token=${TOKEN}`,
    );
    const got: StreamEvent[] = [];
    ws.on('message', (m) => got.push(JSON.parse((m as Buffer).toString('utf8')) as StreamEvent));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ lastEventId: mark }));
    await until(() => got.length >= 1, 'the resumed event v: 1');
    hub.publish('features', 'EURUSD', { v: 3 });
    await until(() => got.length >= 2, 'the live event v: 3');
    expect(got.map((e) => e.data)).toEqual([{ v: 1 }, { v: 3 }]);
    ws.close();
    await new Promise((r) => ws.once('close', r));

    const unauth = new WebSocket(`${baseUrl.replace('http', 'ws')}/stream/ws`);
    const status = await new Promise((r) =>
      unauth.once('unexpected-response', (req, res) => {
        req.destroy();
        r(res.statusCode);
      }),
    );
    expect(status).toBe(401);

    const slow = new WebSocket(
      `${baseUrl.replace('http', 'ws')}/stream/ws?kinds=bars&lastEventId=${hub.lastId}&token=${TOKEN}`,
    );
    await new Promise((r) => slow.once('open', r));
    await new Promise((r) => setTimeout(r, 50));
    (slow as unknown as { _socket: { pause(): void } })._socket.pause();
    const before = hub.subscribers;
    const big = 'x'.repeat(256 * 1024);
    // One event per turn: the backlog is judged when a turn ends.
    for (let i = 0; i < 400 && hub.subscribers === before; i++) {
      hub.publish('bars', 'EURUSD', { big });
      await new Promise((r) => setImmediate(r));
    }
    expect(hub.subscribers).toBe(before - 1);
    (slow as unknown as { _socket: { resume(): void } })._socket.resume();
    const [code, reason] = await new Promise<[number, string]>((r) =>
      slow.once('close', (c, why) => r([c, String(why)])),
    );
    expect([1008, 1006]).toContain(code);
    if (code === 1008) expect(reason).toBe('SLOW_CONSUMER');
  });

  it("the client's WebSocket mode: real cycles' events, reconnect resumes from the last id, 404 thrown", async () => {
    const upgraded: Socket[] = [];
    const onUpgrade = (_req: unknown, socket: Socket) => upgraded.push(socket);
    app.server.on('upgrade', onUpgrade);
    const client = createClient({ baseUrl, token: TOKEN, reconnectInitialDelayMs: 20, random: () => 0.5 });
    const ac = new AbortController();
    const reconnects: string[] = [];
    const it = client.stream({
      transport: 'websocket',
      symbols: ['EURUSD'],
      kinds: ['bars', 'signals'],
      lastEventId: hub.lastId,
      signal: ac.signal,
      onReconnect: (r) => reconnects.push((r.error as { code: string }).code),
    });
    const subs0 = hub.subscriptions;
    const first = it.next();
    await subscribed(hub, subs0);
    await h.sidecar.runCycle();
    const events = [(await first).value as StreamEvent, ...(await take(it, 1))];
    expect(events.map((e) => e.kind)).toContain('bars');
    expect(events.every((e) => 'symbol' in e && e.symbol === 'EURUSD')).toBe(true);
    // Cut the socket: the client comes back with lastEventId and gets what was published meanwhile.
    expect(upgraded).toHaveLength(1);
    for (const socket of upgraded) socket.destroy();
    hub.publish('signals', 'EURUSD', { k: 'while away' });
    const next = await it.next();
    ac.abort();
    expect(next.value).toMatchObject({ kind: 'signals', data: { k: 'while away' } });
    expect(reconnects).toEqual(['NETWORK']);
    app.server.off('upgrade', onUpgrade);

    const err = await client
      .stream({ transport: 'websocket', symbols: ['NOPE'] })
      .next()
      .catch((e: unknown) => e);
    expect(isClientError(err, 'HTTP') && err.status).toBe(404);
  });

  it('a bad token makes the client throw a ClientError HTTP 401 instead of retrying', async () => {
    const client = createClient({ baseUrl, token: 'wrong' });
    const err = await client
      .stream()
      .next()
      .catch((e: unknown) => e);
    expect(isClientError(err, 'HTTP') && err.status).toBe(401);
  });
});
