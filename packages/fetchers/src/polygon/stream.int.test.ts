import { createServer } from 'node:http';
import { ManualClock, type Bar } from '@pipeline/core';
import { createSymbolMapper } from '@pipeline/symbol-mapper';
import { readFixture } from '@pipeline/test-utils';
import {
  createPolygonStream,
  type PolygonStream,
  type PolygonStreamOptions,
  type PolygonStreamStatus,
} from './stream';
import { isPolygonStreamError, POLYGON_STREAM_ERROR_CODES, type PolygonStreamError } from './stream-errors';
import { startPolygonWsFixtureServer, type PolygonWsFixtureServer } from './ws-fixture-server';

const KEY = 'ws-secret-key-555777';
const frames = (file: string) =>
  readFixture(file)
    .split('\n')
    .filter((l) => l.trim() !== '');
const docs = JSON.parse(readFixture('polygon/ws-docs-examples.json')) as {
  events: Record<string, Record<string, unknown>>;
};

/** Waits for real socket I/O (not for timers: those run on the ManualClock). */
async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let srv: PolygonWsFixtureServer;
const streams: PolygonStream[] = [];

beforeEach(async () => {
  srv = await startPolygonWsFixtureServer(KEY);
});
afterEach(async () => {
  await Promise.all(streams.splice(0).map((s) => s.close()));
  await srv.close();
});

interface Harness {
  stream: PolygonStream;
  clock: ManualClock;
  bars: Bar[];
  states: PolygonStreamStatus[];
  errors: PolygonStreamError[];
}

function open(opts: Partial<PolygonStreamOptions> = {}): Harness {
  const clock = new ManualClock(Date.UTC(2024, 0, 2, 15, 0, 0));
  const stream = createPolygonStream({
    apiKey: KEY,
    url: srv.url,
    clock,
    reconnectJitter: 0,
    reconnectInitialDelayMs: 1000,
    ...opts,
  });
  streams.push(stream);
  const h: Harness = { stream, clock, bars: [], states: [], errors: [] };
  stream.onBar((b) => h.bars.push(b));
  stream.onStatus((s) => h.states.push(s));
  stream.onError((e) => h.errors.push(e));
  return h;
}

/** connect() resolves on auth_success; the subscription confirmations follow on the wire. */
async function subscribed(h: Harness): Promise<void> {
  await h.stream.connect();
  await until(() => h.stream.state === 'subscribed', 'subscription confirmation');
}

const noKeyLeaks = (h: Harness) => {
  for (const e of h.errors) expect(`${e.message} ${String(e.serverMessage)}`).not.toContain(KEY);
  for (const s of h.states) expect(JSON.stringify(s)).not.toContain(KEY);
};

describe('PolygonStream handshake, subscription and bars', () => {
  it('waits for "connected", authenticates, subscribes and turns the recorded AM frame into a bar', async () => {
    const h = open({ symbols: ['AAPL', 'TSLA'] });
    await h.stream.connect();
    await until(() => h.stream.state === 'subscribed', 'subscription confirmations');
    expect(srv.received[0]).toEqual([
      { connection: 1, action: 'auth', params: KEY },
      { connection: 1, action: 'subscribe', params: 'AM.AAPL,AM.TSLA' },
    ]);
    expect(h.states.map((s) => s.state).slice(0, 4)).toEqual([
      'connecting',
      'authenticating',
      'authenticated',
      'subscribed',
    ]);
    // The recorded 2020 session: status, trade, quote, minute aggregate. Only the aggregate is a bar.
    for (const f of frames('polygon/ws-stocks-captured-frames-2020-T-Q-AM.jsonl').slice(1)) srv.broadcast(f);
    // 4 handshake frames (connected, auth_success, two subscription confirmations) + 3 data frames
    await until(() => h.stream.stats().framesReceived >= 7, 'frames');
    expect(h.bars).toEqual([
      {
        symbol: 'TSLA',
        timeframe: '1m',
        ts: 1587512880000,
        open: 694.8,
        high: 694.99,
        low: 694.8,
        close: 694.99,
        volume: 2268,
        source: 'polygon',
        final: true,
        quality: 1,
      },
    ]);
    expect(h.stream.stats()).toMatchObject({ barsEmitted: 1, badFrames: 0, unknownSymbols: 0 });
    noKeyLeaks(h);
  });

  it('subscribes to per-second and per-minute aggregates and reads the documented A and AM events', async () => {
    const h = open({ symbols: ['SPCE'], timeframes: ['1s', '1m'] });
    await h.stream.connect();
    await until(() => srv.received[0]!.length === 2, 'subscribe message');
    expect(srv.received[0]![1]).toEqual({ connection: 1, action: 'subscribe', params: 'A.SPCE,AM.SPCE' });
    srv.broadcast(JSON.stringify([docs.events['/stocks/A'], { ...docs.events['/stocks/AM'], sym: 'SPCE' }]));
    await until(() => h.bars.length === 2, 'two bars');
    expect(h.bars[0]).toMatchObject({
      symbol: 'SPCE',
      timeframe: '1s',
      ts: 1610144868000,
      open: 25.39,
      volume: 200,
    });
    expect(h.bars[1]).toMatchObject({
      symbol: 'SPCE',
      timeframe: '1m',
      ts: 1610144640000,
      open: 0.4488,
      close: 0.4486,
      volume: 4110,
    });
  });

  it('forex: subscribes CA.{base}-{quote} and maps the "pair" with a slash back to the generic symbol', async () => {
    const mapper = createSymbolMapper({
      entries: [
        {
          symbol: 'USDSGD',
          assetClass: 'fx',
          base: 'USD',
          quote: 'SGD',
          priceMultiplier: 0.0001,
          providers: { polygon: 'C:USDSGD' },
        },
      ],
    });
    const h = open({ market: 'forex', symbols: ['USDSGD', 'EURUSD'], symbolMapper: mapper });
    await h.stream.connect();
    await until(() => srv.received[0]!.length === 2, 'subscribe message');
    expect(srv.received[0]![1]!.params).toBe('CA.USD-SGD,CA.EUR-USD');
    srv.broadcast(frames('polygon/ws-forex-CA-captured-frame-2023-USD-SGD.jsonl')[0]!);
    srv.broadcast(JSON.stringify([{ ...docs.events['/forex/CA'], pair: 'EUR/USD' }]));
    await until(() => h.bars.length === 2, 'forex bars');
    expect(h.bars[0]).toEqual({
      symbol: 'USDSGD',
      timeframe: '1m',
      ts: 1698116400000,
      open: 1.36503,
      high: 1.36505,
      low: 1.3645,
      close: 1.365,
      volume: 72,
      source: 'polygon',
      final: true,
      quality: 1,
    });
    expect(h.bars[1]).toMatchObject({ symbol: 'EURUSD', ts: 1539145740000, open: 0.8687 });
  });

  it('indices: AM.I:SPX, no volume -> 0, tick-stamped s aligned to the minute; V (value) events are not bars', async () => {
    const h = open({ market: 'indices', symbols: ['SPX500'] });
    await h.stream.connect();
    await until(() => srv.received[0]!.length === 2, 'subscribe message');
    expect(srv.received[0]![1]!.params).toBe('AM.I:SPX');
    srv.broadcast(JSON.stringify([docs.events['/indices/AM'], docs.events['/indices/V']]));
    await until(() => h.stream.stats().framesReceived >= 4, 'index frame'); // connected, auth_success, success, data
    expect(h.bars).toEqual([
      {
        symbol: 'SPX500',
        timeframe: '1m',
        ts: 1678220640000,
        open: 3985.67,
        high: 3985.67,
        low: 3985.67,
        close: 3985.67,
        volume: 0,
        source: 'polygon',
        final: true,
        quality: 1,
      },
    ]);
  });

  it('counts unknown tickers and unreadable frames without stopping', async () => {
    const h = open({ symbols: ['AAPL'] });
    await subscribed(h);
    srv.broadcast('not json');
    srv.broadcast('{"ev":"AM"}');
    srv.broadcast(JSON.stringify([{ ev: 'AM', sym: 'AAPL', o: null, h: 1, l: 1, c: 1, s: 1 }]));
    srv.broadcast(JSON.stringify([{ ...docs.events['/stocks/AM'], sym: 'NOPE.WHAT' }]));
    srv.broadcast(JSON.stringify([{ ...docs.events['/stocks/AM'], sym: 'AAPL' }]));
    await until(() => h.bars.length === 1, 'the good bar');
    expect(h.stream.stats()).toMatchObject({ badFrames: 3, unknownSymbols: 1, barsEmitted: 1 });
    expect(h.errors.filter((e) => e.code === POLYGON_STREAM_ERROR_CODES.badFrame)).toHaveLength(3);
    expect(h.stream.state).toBe('subscribed');
  });

  it('a throwing onBar listener is reported and does not stop the stream or other listeners', async () => {
    const h = open({ symbols: ['AAPL'] });
    h.stream.onBar(() => {
      throw new Error('consumer bug');
    });
    await subscribed(h);
    srv.broadcast(JSON.stringify([{ ...docs.events['/stocks/AM'], sym: 'AAPL' }]));
    srv.broadcast(JSON.stringify([{ ...docs.events['/stocks/AM'], sym: 'AAPL', s: 1610144700000 }]));
    await until(() => h.bars.length === 2, 'both bars');
    expect(h.errors.filter((e) => e.code === 'POLYGON_WS_LISTENER_FAILED').map((e) => e.message)).toEqual([
      '[polygon-ws] a listener threw: consumer bug',
      '[polygon-ws] a listener threw: consumer bug',
    ]);
    expect(h.stream.state).toBe('subscribed');
  });

  it('subscribe/unsubscribe at runtime', async () => {
    const h = open({ symbols: ['AAPL'] });
    await subscribed(h);
    await h.stream.connect(); // already connected: resolves at once
    h.stream.subscribe(['MSFT', 'AAPL']);
    h.stream.unsubscribe(['AAPL']);
    await until(() => srv.received[0]!.length === 4, 'runtime messages');
    expect(srv.received[0]!.slice(2).map((m) => `${m.action} ${m.params}`)).toEqual([
      'subscribe AM.MSFT',
      'unsubscribe AM.AAPL',
    ]);
    expect(h.stream.symbols).toEqual(['MSFT']);
  });
});

describe('PolygonStream error status frames', () => {
  it('auth_failed is fatal: connect() rejects, state failed, and no reconnect however long we wait', async () => {
    const h = open({ symbols: ['AAPL'], apiKey: 'wrong-key-000' });
    const err = await h.stream.connect().catch((e: unknown) => e);
    expect(isPolygonStreamError(err)).toBe(true);
    expect(err).toMatchObject({
      code: 'POLYGON_WS_AUTH_FAILED',
      fatal: true,
      serverMessage: 'authentication failed',
    });
    expect(h.stream.state).toBe('failed');
    h.clock.advance(10 * 60_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(srv.connections).toBe(1);
    expect(h.clock.pendingTimers).toBe(0);
    expect(h.errors.map((e) => e.message).join(' ')).not.toContain('wrong-key-000');
  });

  it('max_connections is fatal too (reconnecting would fight the other connection)', async () => {
    srv.authMode = 'max_connections';
    const h = open({ symbols: ['AAPL'] });
    await expect(h.stream.connect()).rejects.toMatchObject({
      code: 'POLYGON_WS_MAX_CONNECTIONS',
      fatal: true,
    });
    h.clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 30));
    expect(srv.connections).toBe(1);
  });

  it('auth_timeout reconnects with backoff, and authenticates once the server accepts', async () => {
    srv.authMode = 'auth_timeout';
    const h = open({ symbols: ['AAPL'] });
    const ready = h.stream.connect();
    await until(() => h.stream.state === 'reconnecting', 'reconnecting');
    expect(h.errors.map((e) => e.code)).toContain('POLYGON_WS_AUTH_TIMEOUT');
    expect(h.states.at(-1)).toMatchObject({ state: 'reconnecting', attempt: 1, delayMs: 1000 });
    srv.authMode = 'accept';
    h.clock.advance(999);
    await new Promise((r) => setTimeout(r, 30));
    expect(srv.connections).toBe(1);
    h.clock.advance(1);
    await ready;
    expect(srv.connections).toBe(2);
    // the first session never authenticated, so this is the first connection, not a re-connection
    expect(h.stream.stats().reconnects).toBe(0);
  });
});

describe('PolygonStream reconnects', () => {
  it('after a server-side drop: backs off, reconnects, re-authenticates and RE-SUBSCRIBES, then delivers bars', async () => {
    const h = open({ symbols: ['AAPL', 'TSLA'], reconnectInitialDelayMs: 500 });
    await subscribed(h);
    srv.dropAll();
    await until(() => h.stream.state === 'reconnecting', 'reconnecting');
    expect(h.errors.at(-1)!.code).toBe('POLYGON_WS_DISCONNECTED');
    expect(h.states.at(-1)).toMatchObject({ attempt: 1, delayMs: 500 });
    h.clock.advance(500);
    await until(() => srv.received[1]?.length === 2, 'auth + subscribe on the new connection');
    expect(srv.received[1]).toEqual([
      { connection: 2, action: 'auth', params: KEY },
      { connection: 2, action: 'subscribe', params: 'AM.AAPL,AM.TSLA' },
    ]);
    await until(() => h.stream.state === 'subscribed', 'subscribed again');
    srv.broadcast(frames('polygon/ws-stocks-captured-frames-2020-T-Q-AM.jsonl')[3]!);
    await until(() => h.bars.length === 1, 'bar after reconnect');
    expect(h.stream.stats().reconnects).toBe(1);
  });

  it('doubles the delay per failed attempt up to the cap and gives up after maxReconnectAttempts', async () => {
    const h = open({
      symbols: ['AAPL'],
      reconnectInitialDelayMs: 100,
      reconnectMaxDelayMs: 300,
      maxReconnectAttempts: 3,
    });
    await subscribed(h);
    await srv.close(); // nobody listens any more: every attempt fails
    await until(() => h.stream.state === 'reconnecting', 'first retry scheduled');
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s = h.states.at(-1)!;
      delays.push(s.delayMs!);
      h.clock.advance(s.delayMs!);
      const n = h.states.length;
      await until(
        () =>
          h.states.length > n &&
          ['reconnecting', 'failed'].includes(h.stream.state) &&
          h.states.at(-1)!.state !== 'connecting',
        'attempt result',
      );
    }
    expect(delays).toEqual([100, 200, 300]);
    expect(h.stream.state).toBe('failed');
    expect(h.errors.at(-1)).toMatchObject({ code: 'POLYGON_WS_RECONNECT_EXHAUSTED', fatal: true });
    // one report per lost connection: the drop, then three refused attempts (error + close reported once)
    const lost = h.errors.filter((e) => e.code === 'POLYGON_WS_DISCONNECTED');
    expect(lost).toHaveLength(4);
    expect(lost.slice(1).every((e) => /ECONNREFUSED/.test(e.message))).toBe(true);
    await expect(h.stream.connect()).rejects.toMatchObject({ code: 'POLYGON_WS_DISCONNECTED' });
    expect(h.clock.pendingTimers).toBe(0);
  });

  it('a server that accepts TCP but never upgrades hits connectTimeoutMs and is retried', async () => {
    const hung = createServer(() => undefined); // accepts, never answers the upgrade
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    const port = (hung.address() as { port: number }).port;
    try {
      const h = open({ url: `ws://127.0.0.1:${port}`, symbols: ['AAPL'], connectTimeoutMs: 100 });
      void h.stream.connect().catch(() => undefined);
      await until(() => h.stream.state === 'reconnecting', 'handshake timeout');
      expect(h.errors.at(-1)).toMatchObject({ code: 'POLYGON_WS_DISCONNECTED' });
      expect(h.errors.at(-1)!.message).toMatch(/handshake has timed out/i);
      await h.stream.close();
    } finally {
      hung.closeAllConnections?.();
      await new Promise((r) => hung.close(r));
    }
  });

  it('idle detection: no frame for idleTimeoutMs -> idle status + error, socket dropped, reconnect', async () => {
    const h = open({ symbols: ['AAPL'], idleTimeoutMs: 30_000 });
    await subscribed(h);
    h.clock.advance(20_000);
    srv.broadcast(JSON.stringify([{ ...docs.events['/stocks/AM'], sym: 'AAPL' }])); // a frame resets the idle window
    await until(() => h.bars.length === 1, 'bar');
    h.clock.advance(20_000);
    expect(h.stream.state).toBe('subscribed');
    h.clock.advance(10_000);
    expect(h.states.map((s) => s.state)).toContain('idle');
    expect(h.errors.at(-1)!.code).toBe('POLYGON_WS_IDLE');
    expect(h.stream.state).toBe('reconnecting');
    h.clock.advance(1000);
    await srv.waitForConnections(2);
    await until(() => h.stream.state === 'subscribed', 'subscribed after idle reconnect');
  });
});

describe('PolygonStream slow consumer and close', () => {
  it('bounds each bars() queue: drops the OLDEST bars, counts them and reports once', async () => {
    const h = open({ symbols: ['AAPL'], maxQueuedBars: 5 });
    await subscribed(h);
    const it = h.stream.bars();
    const am = docs.events['/stocks/AM'];
    const burst = Array.from({ length: 20 }, (_, i) => ({
      ...am,
      sym: 'AAPL',
      s: 1610144640000 + i * 60_000,
      e: 1610144700000 + i * 60_000,
    }));
    srv.broadcast(JSON.stringify(burst));
    await until(() => h.bars.length === 20, 'burst');
    const got: number[] = [];
    for (let i = 0; i < 5; i++) got.push((await it.next()).value.ts);
    expect(got).toEqual(burst.slice(15).map((b) => b.s));
    expect(h.stream.stats().droppedBars).toBe(15);
    expect(h.errors.filter((e) => e.code === 'POLYGON_WS_BARS_DROPPED')).toHaveLength(1);
    // a consumer that keeps up loses nothing
    srv.broadcast(JSON.stringify([{ ...am, sym: 'AAPL', s: 1620000000000 }]));
    expect((await it.next()).value.ts).toBe(1620000000000);
    expect(h.stream.stats().droppedBars).toBe(15);
    await it.return!();
  });

  it('close() ends iterators, cancels timers and closes the socket; events can be unsubscribed', async () => {
    const h = open({ symbols: ['AAPL'] });
    let seen = 0;
    const off = h.stream.onBar(() => seen++);
    await h.stream.connect();
    off();
    srv.broadcast(JSON.stringify([{ ...docs.events['/stocks/AM'], sym: 'AAPL' }]));
    await until(() => h.bars.length === 1, 'bar');
    expect(seen).toBe(0);
    const it = h.stream.bars();
    const pending = it.next();
    await h.stream.close();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(h.stream.state).toBe('closed');
    expect(h.clock.pendingTimers).toBe(0);
    await h.stream.close(); // idempotent
  });

  it('rejects bad options at construction, quoting the value', () => {
    expect(() => createPolygonStream({ apiKey: KEY, idleTimout: 5 } as never)).toThrow(
      /unknown option "idleTimout"/,
    );
    expect(() => createPolygonStream({ apiKey: KEY, market: 'options' as never })).toThrow(/"options"/);
    expect(() => createPolygonStream({ apiKey: KEY, timeframes: ['5m' as never] })).toThrow(/\["5m"\]/);
    expect(() => createPolygonStream({ apiKey: KEY, symbols: ['EURUSD'] })).toThrow(
      /C:EURUSD.*not on the stocks socket/,
    );
    expect(() => createPolygonStream({ apiKey: KEY, url: 'http://x' })).toThrow(/"http:\/\/x"/);
    expect(() => createPolygonStream({ apiKey: '' })).toThrow(/apiKey/);
  });
});
