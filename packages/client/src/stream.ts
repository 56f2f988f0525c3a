// The push stream over Server-Sent Events (fetch + eventsource-parser rather than EventSource, so the
// token goes in a header, the resume id is ours to keep, and Node needs no polyfill) or over the
// sidecar's WebSocket twin. Either way: reconnects with exponential backoff and full jitter, resuming
// from the last event id; stops on abort.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { CLIENT_ERROR_CODES, ClientError, isClientError } from './errors';
import { type StreamEvent, type StreamKind } from './types';

export interface StreamOptions {
  /** Symbols to receive (generic or broker spelling). @default every symbol */
  symbols?: readonly string[];
  /** Kinds to receive. @default ['bars', 'features', 'signals', 'health'] */
  kinds?: readonly StreamKind[];
  /** Resume after this event id (from an earlier stream). @default undefined: live events only */
  lastEventId?: number | string;
  /** Aborting it ends the iterator (without an error). @default undefined */
  signal?: AbortSignal;
  /** Called before each reconnect with the attempt number and the delay chosen, ms. @default undefined */
  onReconnect?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /** Give up (throw the last error) after this many consecutive failed attempts. @default Infinity */
  maxAttempts?: number;
  /**
   * `sse`: `GET /stream` over fetch. `websocket`: `GET /stream/ws` (the global `WebSocket` where there
   * is one, else the `ws` package, an optional peer dependency). Same events, resume and backoff.
   * @default 'sse'
   */
  transport?: 'sse' | 'websocket';
}

/** The part of a WebSocket the client uses: the WHATWG interface, which `ws` also implements. */
export interface WebSocketLike {
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: never) => void): void;
  close(code?: number, reason?: string): void;
}

/**
 * A WebSocket class: the global one, `ws`'s `WebSocket`, or a compatible one (with the WHATWG
 * `addEventListener` and `close`). Typed loosely so that each of those fits as it is.
 */
export type WebSocketConstructor = new (url: string, ...rest: never[]) => object;

/** How the client calls it (a third argument `{ headers }` only for `ws`). */
type WebSocketClass = new (
  url: string,
  protocols?: string | string[],
  options?: { headers?: Record<string, string> },
) => WebSocketLike;

/** @internal */
export interface StreamTransport {
  url: URL;
  /** The WebSocket endpoint (`/stream/ws`). */
  wsUrl: URL;
  headers: Record<string, string>;
  token: string | undefined;
  fetch: typeof fetch;
  /** A WebSocket class given to createClient. */
  WebSocket: WebSocketConstructor | undefined;
  initialDelayMs: number;
  maxDelayMs: number;
  random: () => number;
}

/** Status codes that retrying will not fix. */
const FATAL = new Set([400, 401, 403, 404]);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** What one connection ended with: an error to reconnect after (or to throw, when fatal). */
interface Ended {
  error: unknown;
  fatal?: boolean;
}

/** One SSE connection: yields its events; returns how it ended. */
async function* sseConnection(
  t: StreamTransport,
  u: URL,
  lastId: string | undefined,
  signal: AbortSignal | undefined,
): AsyncGenerator<StreamEvent, Ended> {
  const headers: Record<string, string> = { ...t.headers, accept: 'text/event-stream' };
  if (lastId !== undefined) headers['last-event-id'] = lastId;
  const res = await t.fetch(u, { headers, ...(signal ? { signal } : {}) });
  if (!res.ok || !res.body) {
    const body = await res.text().catch(() => '');
    const err = new ClientError(CLIENT_ERROR_CODES.HTTP, `GET /stream answered ${res.status}: ${body}`, {
      status: res.status,
    });
    return { error: err, fatal: FATAL.has(res.status) };
  }
  let error: unknown;
  const queue: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (m) => queue.push(m) });
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
      if (m.event === 'error') {
        // The server's last word before it closes (SLOW_CONSUMER): reconnect and resume.
        const e = JSON.parse(m.data) as { code?: string; message?: string };
        error = new ClientError(
          e.code === 'SLOW_CONSUMER' ? CLIENT_ERROR_CODES.SLOW_CONSUMER : CLIENT_ERROR_CODES.NETWORK,
          e.message ?? 'stream error',
        );
        continue;
      }
      if (!m.data) continue;
      yield JSON.parse(m.data) as StreamEvent;
    }
  }
  return { error: error ?? new ClientError(CLIENT_ERROR_CODES.NETWORK, 'stream ended by the server') };
}

let wsModule: Promise<WebSocketClass> | undefined;

/** The WebSocket class: given > global (browsers, Node >= 22) > the `ws` package (Node 20). */
async function webSocketClass(
  given: WebSocketConstructor | undefined,
): Promise<{ WS: WebSocketClass; headers: boolean }> {
  if (given) return { WS: given as unknown as WebSocketClass, headers: false };
  const global = (globalThis as { WebSocket?: WebSocketClass }).WebSocket;
  if (typeof global === 'function') return { WS: global, headers: false };
  wsModule ??= import('ws').then(
    (m: { WebSocket?: unknown; default?: unknown }) => (m.WebSocket ?? m.default) as WebSocketClass,
  );
  try {
    return { WS: await wsModule, headers: true };
  } catch (err) {
    wsModule = undefined;
    throw new ClientError(
      CLIENT_ERROR_CODES.BAD_OPTION,
      "transport 'websocket' needs a WebSocket: this runtime has no global one (Node 20), so install " +
        'the `ws` package (npm install ws) or pass createClient({ WebSocket })',
      { cause: err },
    );
  }
}

/** One WebSocket connection: yields its events; returns how it ended. */
async function* wsConnection(
  t: StreamTransport,
  u: URL,
  lastId: string | undefined,
  signal: AbortSignal | undefined,
): AsyncGenerator<StreamEvent, Ended> {
  const { WS, headers } = await webSocketClass(t.WebSocket);
  const url = new URL(u);
  if (lastId !== undefined) url.searchParams.set('lastEventId', lastId);
  // `ws` sends the token as a header; a WHATWG WebSocket cannot, so it goes in the query.
  if (t.token !== undefined && !headers) url.searchParams.set('token', t.token);
  const socket = headers ? new WS(url.href, undefined, { headers: t.headers }) : new WS(url.href);
  const queue: StreamEvent[] = [];
  let ended: Ended | undefined;
  let status: number | undefined;
  let failure: string | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  socket.addEventListener('message', (ev: { data: unknown }) => {
    const text = typeof ev.data === 'string' ? ev.data : String(ev.data);
    queue.push(JSON.parse(text) as StreamEvent);
    notify();
  });
  socket.addEventListener('error', (ev: { message?: string; error?: { message?: string } }) => {
    // `ws` names the HTTP status of a refused upgrade ("Unexpected server response: 401").
    failure = ev.message ?? ev.error?.message ?? failure;
    const m = /Unexpected server response: (\d+)/.exec(failure ?? '');
    if (m?.[1]) status = Number(m[1]);
  });
  socket.addEventListener('close', (ev: { code: number; reason: string }) => {
    if (status !== undefined) {
      ended = {
        error: new ClientError(CLIENT_ERROR_CODES.HTTP, `GET /stream/ws answered ${status}`, { status }),
        fatal: FATAL.has(status),
      };
    } else if (ev.reason === 'SLOW_CONSUMER') {
      ended = {
        error: new ClientError(
          CLIENT_ERROR_CODES.SLOW_CONSUMER,
          'the server closed the stream: the client reads too slowly',
        ),
      };
    } else {
      const why = failure ?? `closed by the server (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`;
      ended = { error: new ClientError(CLIENT_ERROR_CODES.NETWORK, `stream broke: ${why}`) };
    }
    notify();
  });
  const abort = () => socket.close(1000);
  signal?.addEventListener('abort', abort, { once: true });
  try {
    for (;;) {
      for (let e = queue.shift(); e !== undefined; e = queue.shift()) yield e;
      if (ended) return ended;
      if (signal?.aborted) return { error: signal.reason };
      await new Promise<void>((r) => {
        wake = r;
        signal?.addEventListener('abort', () => r(), { once: true });
      });
    }
  } finally {
    signal?.removeEventListener('abort', abort);
    // `break` out of the consumer's loop, or abort: close the socket.
    if (!ended) socket.close(1000);
  }
}

export async function* openStream(
  t: StreamTransport,
  options: StreamOptions,
): AsyncIterableIterator<StreamEvent> {
  const { signal } = options;
  const maxAttempts = options.maxAttempts ?? Infinity;
  const transport = options.transport ?? 'sse';
  if (transport !== 'sse' && transport !== 'websocket') {
    throw new ClientError(
      CLIENT_ERROR_CODES.BAD_OPTION,
      `transport must be 'sse' or 'websocket', got ${JSON.stringify(transport)}`,
    );
  }
  const connection = transport === 'sse' ? sseConnection : wsConnection;
  let lastId = options.lastEventId === undefined ? undefined : String(options.lastEventId);
  let failures = 0;
  const u = new URL(transport === 'sse' ? t.url : t.wsUrl);
  if (options.symbols?.length) u.searchParams.set('symbols', options.symbols.join(','));
  if (options.kinds?.length) u.searchParams.set('kinds', options.kinds.join(','));

  while (!signal?.aborted) {
    let error: unknown;
    try {
      const conn = connection(t, u, lastId, signal);
      for (;;) {
        const r = await conn.next();
        if (r.done) {
          if (r.value.fatal) throw r.value.error;
          error = r.value.error;
          break;
        }
        lastId = String(r.value.id);
        failures = 0;
        yield r.value;
      }
    } catch (err) {
      if (signal?.aborted) return;
      if (
        isClientError(err) &&
        (err.code === CLIENT_ERROR_CODES.HTTP || err.code === CLIENT_ERROR_CODES.BAD_OPTION)
      )
        throw err;
      error = new ClientError(CLIENT_ERROR_CODES.NETWORK, `stream broke: ${String(err)}`, { cause: err });
    }
    if (signal?.aborted) return;
    failures++;
    if (failures >= maxAttempts) throw error;
    // Exponential backoff with full jitter: uniform in [0, min(max, initial * 2^(n-1))].
    const cap = Math.min(t.maxDelayMs, t.initialDelayMs * 2 ** (failures - 1));
    const delayMs = Math.round(cap * t.random());
    options.onReconnect?.({ attempt: failures, delayMs, error });
    await sleep(delayMs, signal);
  }
}
