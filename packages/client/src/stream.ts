// The push stream over Server-Sent Events: fetch + eventsource-parser (rather than EventSource, so the
// token goes in a header, the resume id is ours to keep, and Node needs no polyfill). Reconnects with
// exponential backoff and full jitter, resuming with Last-Event-ID; stops on abort.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { CLIENT_ERROR_CODES, ClientError } from './errors';
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
}

/** @internal */
export interface StreamTransport {
  url: URL;
  headers: Record<string, string>;
  fetch: typeof fetch;
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

export async function* openStream(
  t: StreamTransport,
  options: StreamOptions,
): AsyncIterableIterator<StreamEvent> {
  const { signal } = options;
  const maxAttempts = options.maxAttempts ?? Infinity;
  let lastId = options.lastEventId === undefined ? undefined : String(options.lastEventId);
  let failures = 0;
  const u = new URL(t.url);
  if (options.symbols?.length) u.searchParams.set('symbols', options.symbols.join(','));
  if (options.kinds?.length) u.searchParams.set('kinds', options.kinds.join(','));

  while (!signal?.aborted) {
    let error: unknown;
    try {
      const headers: Record<string, string> = { ...t.headers, accept: 'text/event-stream' };
      if (lastId !== undefined) headers['last-event-id'] = lastId;
      const res = await t.fetch(u, { headers, ...(signal ? { signal } : {}) });
      if (!res.ok || !res.body) {
        const body = await res.text().catch(() => '');
        const err = new ClientError(CLIENT_ERROR_CODES.HTTP, `GET /stream answered ${res.status}: ${body}`, {
          status: res.status,
        });
        if (FATAL.has(res.status)) throw err;
        error = err;
      } else {
        const queue: EventSourceMessage[] = [];
        const parser = createParser({ onEvent: (m) => queue.push(m) });
        const decoder = new TextDecoder();
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          parser.feed(decoder.decode(chunk, { stream: true }));
          for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
            if (m.id) lastId = m.id;
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
            failures = 0;
            yield JSON.parse(m.data) as StreamEvent;
          }
        }
        error ??= new ClientError(CLIENT_ERROR_CODES.NETWORK, 'stream ended by the server');
      }
    } catch (err) {
      if (signal?.aborted) return;
      if (err instanceof ClientError && err.code === CLIENT_ERROR_CODES.HTTP) throw err;
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
