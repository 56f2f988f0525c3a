// The client against a real HTTP server speaking the sidecar's SSE framing and error envelope
// (the sidecar's own tests run the client against a real sidecar: apps/sidecar/src/http/stream.int.test.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { createClient, isClientError, type StreamEvent } from './index';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function serve(handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
const close = (s: Server) =>
  new Promise((r) => {
    s.closeAllConnections();
    s.close(r);
  });

describe('createClient', () => {
  it('rejects unknown options and bad base URLs by name', () => {
    expect(() => createClient({ baseUrl: 'http://x', tiemout: 1 } as never)).toThrow(
      /unknown option "tiemout"/,
    );
    expect(() => createClient({ baseUrl: 'ftp://x' })).toThrow(/http: or https:/);
    expect(() => createClient({ baseUrl: 'nope' })).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }));
    expect(() => createClient({ baseUrl: 'http://x', timeoutMs: 0 })).toThrow(/timeoutMs/);
  });

  it('sends the token, builds the query, and maps error answers to ClientError', async () => {
    const seen: { url?: string; auth?: string }[] = [];
    const { server, url } = await serve((req, res) => {
      seen.push({ url: req.url, auth: req.headers.authorization });
      if (req.url?.startsWith('/signals/NOPE')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: { code: 'UNKNOWN_SYMBOL', message: 'unknown symbol NOPE' } }));
      }
      if (req.url === '/health') {
        res.writeHead(503, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ status: 'down' }));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ symbol: 'EURUSD', timeframe: '1h', count: 0, bars: [], limit: 5, clipped: false }),
      );
    });
    try {
      const c = createClient({ baseUrl: `${url}/`, token: 'sekrit' });
      expect((await c.bars('EUR/USD', { timeframe: '1h', limit: 5, from: 10 })).limit).toBe(5);
      expect(seen[0]).toEqual({ url: '/bars/EUR%2FUSD?timeframe=1h&limit=5&from=10', auth: 'Bearer sekrit' });
      expect((await c.health()).status).toBe('down');
      const err = await c.signal('NOPE').catch((e: unknown) => e);
      expect(isClientError(err, 'HTTP')).toBe(true);
      expect(err).toMatchObject({
        status: 404,
        serverCode: 'UNKNOWN_SYMBOL',
        message: expect.stringMatching(/unknown symbol NOPE/),
      });
      const down = await createClient({ baseUrl: 'http://127.0.0.1:1' })
        .signals()
        .catch((e: unknown) => e);
      expect(isClientError(down, 'NETWORK')).toBe(true);
    } finally {
      await close(server);
    }
  });

  it('stream: reconnects with jittered exponential backoff, resumes with Last-Event-ID, stops on abort', async () => {
    const lastIds: (string | undefined)[] = [];
    let n = 0;
    const { server, url } = await serve((req, res) => {
      lastIds.push(req.headers['last-event-id'] as string | undefined);
      n++;
      if (n === 2) {
        res.writeHead(503);
        return res.end('busy');
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const id = n * 10;
      res.write(
        `id: ${id}\nevent: bars\ndata: ${JSON.stringify({ id, kind: 'bars', symbol: 'EURUSD', data: { n } })}\n\n`,
      );
      if (n === 1) {
        // A drop for slowness: the client must reconnect and resume.
        res.end(`event: error\ndata: ${JSON.stringify({ code: 'SLOW_CONSUMER', message: 'slow' })}\n\n`);
      }
    });
    const delays: number[] = [];
    const codes: string[] = [];
    try {
      const ac = new AbortController();
      const c = createClient({
        baseUrl: url,
        reconnectInitialDelayMs: 40,
        reconnectMaxDelayMs: 60,
        random: () => 0.5,
      });
      const got: StreamEvent[] = [];
      for await (const e of c.stream({
        symbols: ['EURUSD'],
        lastEventId: 7,
        signal: ac.signal,
        onReconnect: (r) => {
          delays.push(r.delayMs);
          codes.push((r.error as { code: string }).code);
        },
      })) {
        got.push(e);
        if (got.length === 2) ac.abort();
      }
      expect(got.map((e) => e.id)).toEqual([10, 30]);
      // First drop: attempt 1 -> 40 * 0.5; the 503: attempt 2 -> min(60, 80) * 0.5.
      expect(delays).toEqual([20, 30]);
      expect(codes).toEqual(['SLOW_CONSUMER', 'HTTP']);
      expect(lastIds).toEqual(['7', '10', '10']);
    } finally {
      await close(server);
    }
  });

  it('stream: 401 is not retried, and maxAttempts gives up with the last error', async () => {
    const { server, url } = await serve((_req, res) => {
      res.writeHead(401);
      res.end('no');
    });
    try {
      const err = await createClient({ baseUrl: url })
        .stream()
        .next()
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'HTTP', status: 401 });
    } finally {
      await close(server);
    }
    const gone = await createClient({
      baseUrl: 'http://127.0.0.1:1',
      reconnectInitialDelayMs: 1,
      random: () => 0,
    })
      .stream({ maxAttempts: 3 })
      .next()
      .catch((e: unknown) => e);
    expect(isClientError(gone, 'NETWORK')).toBe(true);
  });
});

describe("stream over WebSocket (a real ws server speaking the sidecar's framing)", () => {
  it('reconnects with backoff after SLOW_CONSUMER and a drop, resumes with lastEventId, stops on abort', async () => {
    const { WebSocketServer, WebSocket } = await import('ws');
    // `ws`'s class fits the option's type as it is.
    expect(() => createClient({ baseUrl: 'http://x', WebSocket })).not.toThrow();
    const server = createServer();
    const wss = new WebSocketServer({ server, path: '/stream/ws' });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const seen: { lastEventId: string | null; auth: string | undefined; symbols: string | null }[] = [];
    let n = 0;
    wss.on('connection', (ws, req) => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      seen.push({
        lastEventId: q.get('lastEventId'),
        auth: req.headers.authorization,
        symbols: q.get('symbols'),
      });
      n++;
      const id = n * 10;
      ws.send(JSON.stringify({ id, kind: 'bars', symbol: 'EURUSD', data: { n } }));
      if (n === 1) ws.close(1008, 'SLOW_CONSUMER');
      if (n === 2) ws.terminate(); // a broken connection, no close frame
    });
    const delays: number[] = [];
    const codes: string[] = [];
    try {
      const ac = new AbortController();
      const c = createClient({
        baseUrl: url,
        token: 'sekrit',
        reconnectInitialDelayMs: 40,
        reconnectMaxDelayMs: 60,
        random: () => 0.5,
      });
      const got: StreamEvent[] = [];
      for await (const e of c.stream({
        transport: 'websocket',
        symbols: ['EURUSD'],
        lastEventId: 7,
        signal: ac.signal,
        onReconnect: (r) => {
          delays.push(r.delayMs);
          codes.push((r.error as { code: string }).code);
        },
      })) {
        got.push(e);
        if (got.length === 3) ac.abort();
      }
      expect(got.map((e) => e.id)).toEqual([10, 20, 30]);
      // Each connection delivered an event first, so every attempt is a first one: 40 * 0.5.
      expect(delays).toEqual([20, 20]);
      expect(codes).toEqual(['SLOW_CONSUMER', 'NETWORK']);
      expect(seen).toEqual([
        { lastEventId: '7', auth: 'Bearer sekrit', symbols: 'EURUSD' },
        { lastEventId: '10', auth: 'Bearer sekrit', symbols: 'EURUSD' },
        { lastEventId: '20', auth: 'Bearer sekrit', symbols: 'EURUSD' },
      ]);
      // The aborted stream's socket is closed.
      await new Promise((r) => setTimeout(r, 50));
      expect([...wss.clients].filter((w) => w.readyState === w.OPEN)).toHaveLength(0);
    } finally {
      wss.close();
      await close(server);
    }
  });

  it('a refused upgrade (401) is thrown, not retried; a given WebSocket class gets the token in the query', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(401);
      res.end('no');
    });
    server.on('upgrade', (req, socket) => {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      void req;
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const err = await createClient({ baseUrl: url })
        .stream({ transport: 'websocket' })
        .next()
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'HTTP', status: 401 });
    } finally {
      await close(server);
    }
    const urls: string[] = [];
    class Recording {
      constructor(u: string) {
        urls.push(u);
      }
      addEventListener(type: string, fn: (ev: never) => void) {
        const close = fn as (ev: { code: number; reason: string }) => void;
        if (type === 'close') setTimeout(() => close({ code: 1006, reason: '' }), 1);
      }
      close() {}
    }
    const gone = await createClient({
      baseUrl: 'https://example.invalid/api',
      token: 't0k',
      WebSocket: Recording,
      reconnectInitialDelayMs: 1,
    })
      .stream({ transport: 'websocket', kinds: ['bars'], maxAttempts: 1 })
      .next()
      .catch((e: unknown) => e);
    expect(isClientError(gone, 'NETWORK')).toBe(true);
    expect(urls).toEqual(['wss://example.invalid/api/stream/ws?kinds=bars&token=t0k']);
    const bad = await createClient({ baseUrl: url })
      .stream({ transport: 'carrier-pigeon' as never })
      .next()
      .catch((e: unknown) => e);
    expect(isClientError(bad, 'BAD_OPTION')).toBe(true);
  });
});
