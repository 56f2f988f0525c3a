import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type Socket } from 'node:net';
import { fixtureManifest, readFixture } from './paths';

/** What the server does for one request. */
export interface FixtureReply {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Wait this long before answering (a slow server). */
  delayMs?: number;
  /** Never answer (until the server closes): a hung upstream. */
  hang?: boolean;
  /** Destroy the connection without answering: a reset. */
  reset?: boolean;
  /** Send the headers with the full Content-Length, then only this many body bytes, then drop. */
  truncateAt?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Full request URL path + query as received (may contain test API keys). */
  url: string;
}

export type FixtureHandler = (req: RecordedRequest) => FixtureReply | Promise<FixtureReply>;

export interface FixtureServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Replaces the handler (e.g. to switch a test from success to failure). */
  setHandler(handler: FixtureHandler): void;
  /** Number of TCP connections opened so far (to check keep-alive reuse). */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 that answers with recorded provider bodies or scripted faults.
 * Tests drive the real HTTP client against it; nothing is mocked.
 */
export async function startFixtureServer(handler: FixtureHandler): Promise<FixtureServer> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const pending = new Set<ServerResponse>();

  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: u.pathname,
      query: u.searchParams,
      headers: req.headers,
      url: req.url ?? '/',
    };
    requests.push(rec);
    req.resume();
    void (async () => {
      let reply: FixtureReply;
      try {
        reply = await current(rec);
      } catch (err) {
        reply = { status: 599, body: `fixture handler failed: ${String(err)}` };
      }
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
      if (reply.hang) {
        pending.add(res);
        return;
      }
      if (reply.reset) {
        req.socket.destroy();
        return;
      }
      const body = reply.body === undefined ? Buffer.alloc(0) : Buffer.from(reply.body);
      const headers = {
        'content-type': 'application/json',
        ...reply.headers,
        'content-length': String(body.length),
      };
      res.writeHead(reply.status ?? 200, headers);
      if (reply.truncateAt !== undefined) {
        res.write(body.subarray(0, reply.truncateAt), () => req.socket.destroy());
        return;
      }
      res.end(body);
    })();
  });
  server.on('connection', (s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setHandler(h) {
      current = h;
    },
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of pending) res.destroy();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A reply serving a recorded fixture with the status and content type it was recorded with
 * (from fixtures/manifest.json). `overrides` may change status or headers.
 */
export function fixtureReply(relPath: string, overrides: Partial<FixtureReply> = {}): FixtureReply {
  const entry = fixtureManifest().find((e) => e.file === relPath);
  return {
    status: entry?.http_status ?? 200,
    headers: { 'content-type': entry?.content_type ?? 'application/json' },
    body: readFixture(relPath),
    ...overrides,
  };
}
