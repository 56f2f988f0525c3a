/**
 * A real local WebSocket server that speaks Polygon's socket protocol with the recorded frames
 * (fixtures/polygon/ws-*.jsonl): `connected` on open, `auth_success` or `auth_failed` on auth, one
 * `success` per subscribed channel. Tests push recorded data frames and drop connections at will.
 * Test support only: not exported from the package.
 */
import { readFixture } from '@pipeline/test-utils';
import { WebSocketServer, type WebSocket } from 'ws';

function lines(file: string): string[] {
  return readFixture(file)
    .split('\n')
    .filter((l) => l.trim() !== '');
}

export interface PolygonWsFixtureServer {
  /** `ws://127.0.0.1:<port>` */
  url: string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Client->server messages, parsed, per connection in order. */
  readonly received: { connection: number; action: string; params: string }[][];
  /** What the server does on auth: `accept`, the recorded `auth_failed` / `max_connections` frame, or ignore it. */
  authMode: 'accept' | 'auth_failed' | 'max_connections' | 'auth_timeout' | 'silent';
  /** Sends a raw text frame to every open connection. */
  broadcast(frame: string): void;
  /** Cuts every open connection without a close frame (a network drop). */
  dropAll(): void;
  /** Resolves when `n` connections have been accepted. */
  waitForConnections(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function startPolygonWsFixtureServer(apiKey: string): Promise<PolygonWsFixtureServer> {
  const handshake = lines('polygon/ws-stocks-handshake-status-frames.jsonl');
  const errors = lines('polygon/ws-stocks-error-status-frames.jsonl');
  const [connectedFrame, authSuccessFrame] = handshake as [string, string];
  const [authFailedFrame, authTimeoutFrame, maxConnectionsFrame] = errors as [string, string, string];
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const port = (wss.address() as { port: number }).port;
  const sockets = new Set<WebSocket>();
  const received: { connection: number; action: string; params: string }[][] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let connections = 0;

  const server: PolygonWsFixtureServer = {
    url: `ws://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    received,
    authMode: 'accept',
    broadcast(frame) {
      for (const s of sockets) if (s.readyState === s.OPEN) s.send(frame);
    },
    dropAll() {
      for (const s of sockets) s.terminate();
    },
    waitForConnections(n) {
      if (connections >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.terminate();
        wss.close(() => resolve());
      }),
  };

  wss.on('connection', (ws) => {
    const id = ++connections;
    const log: { connection: number; action: string; params: string }[] = [];
    received.push(log);
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('error', () => undefined);
    for (const w of waiters.splice(0)) {
      if (connections >= w.n) w.resolve();
      else waiters.push(w);
    }
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString('utf8')) as { action: string; params: string };
      log.push({ connection: id, ...msg });
      if (msg.action === 'auth') {
        const mode = server.authMode;
        if (mode === 'silent') return;
        if (mode === 'auth_timeout') {
          ws.send(authTimeoutFrame);
          ws.close();
        } else if (mode === 'max_connections') {
          ws.send(maxConnectionsFrame);
          ws.close();
        } else if (mode === 'auth_failed' || msg.params !== apiKey) {
          ws.send(authFailedFrame);
          ws.close();
        } else {
          ws.send(authSuccessFrame);
        }
      } else if (msg.action === 'subscribe') {
        // Polygon confirms each channel in its own status frame, as in the recorded handshake.
        for (const ch of msg.params.split(',')) {
          ws.send(JSON.stringify([{ ev: 'status', status: 'success', message: `subscribed to: ${ch}` }]));
        }
      }
    });
    ws.send(connectedFrame);
  });
  return server;
}
