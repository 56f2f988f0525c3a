// createClient: one typed method per route of the sidecar's HTTP API, plus the push stream.
import { CLIENT_ERROR_CODES, ClientError } from './errors';
import { openStream, type StreamOptions, type WebSocketConstructor } from './stream';
import {
  type BarsResponse,
  type ClusterResponse,
  type FeaturesResponse,
  type HealthResponse,
  type Signal,
  type SignalsResponse,
  type StreamEvent,
} from './types';

export interface ClientOptions {
  /** The sidecar's base URL, e.g. `http://127.0.0.1:8000`. Required. */
  baseUrl: string;
  /** The sidecar's `API_TOKEN`, sent as `Authorization: Bearer <token>`. @default undefined */
  token?: string;
  /** Per-request timeout of the non-stream methods, ms. @default 10000 */
  timeoutMs?: number;
  /** The fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Stream reconnect: first delay, ms (then doubled per failed attempt, with full jitter). @default 500 */
  reconnectInitialDelayMs?: number;
  /** Stream reconnect: longest delay, ms. @default 30000 */
  reconnectMaxDelayMs?: number;
  /** Random source in [0, 1) for the jitter (tests pass a fixed one). @default Math.random */
  random?: () => number;
  /**
   * The WebSocket class for `stream({ transport: 'websocket' })`. @default the global `WebSocket`,
   * else the `ws` package (Node 20 has no global WebSocket)
   */
  WebSocket?: WebSocketConstructor;
}

export const DEFAULT_CLIENT_OPTIONS = Object.freeze({
  timeoutMs: 10_000,
  reconnectInitialDelayMs: 500,
  reconnectMaxDelayMs: 30_000,
});

const KNOWN_OPTIONS = new Set<string>([
  'baseUrl',
  'token',
  'timeoutMs',
  'fetch',
  'reconnectInitialDelayMs',
  'reconnectMaxDelayMs',
  'random',
  'WebSocket',
]);

export interface BarsOptions {
  /** `1m`, `5m`, `15m`, `30m`, `1h`, `4h`, `1d`, ... @default the sidecar's base timeframe */
  timeframe?: string;
  /** Most bars to return (the server clips it and says so in `clipped`). @default 500 */
  limit?: number;
  /** Earliest bar open time, epoch ms, inclusive. @default undefined */
  from?: number;
  /** Latest bar open time, epoch ms, exclusive. @default undefined */
  to?: number;
}

export interface Client {
  health(): Promise<HealthResponse>;
  signals(): Promise<SignalsResponse>;
  signal(symbol: string): Promise<Signal>;
  bars(symbol: string, options?: BarsOptions): Promise<BarsResponse>;
  features(symbol: string): Promise<FeaturesResponse>;
  cluster(): Promise<ClusterResponse>;
  /** The Prometheus text of `/metrics`. */
  metrics(): Promise<string>;
  /** The push stream (SSE or WebSocket) as an async iterator; reconnects and resumes by the last event id. */
  stream(options?: StreamOptions): AsyncIterableIterator<StreamEvent>;
}

function bad(message: string): ClientError {
  return new ClientError(CLIENT_ERROR_CODES.BAD_OPTION, message);
}

export function createClient(options: ClientOptions): Client {
  for (const key of Object.keys(options ?? {})) {
    if (!KNOWN_OPTIONS.has(key)) throw bad(`unknown option ${JSON.stringify(key)}`);
  }
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch {
    throw bad(`baseUrl must be an absolute http(s) URL, got ${JSON.stringify(options?.baseUrl)}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw bad(`baseUrl must be http: or https:, got ${JSON.stringify(base.protocol)}`);
  }
  const o = Object.freeze({ ...DEFAULT_CLIENT_OPTIONS, ...options });
  for (const k of ['timeoutMs', 'reconnectInitialDelayMs', 'reconnectMaxDelayMs'] as const) {
    if (!(Number.isFinite(o[k]) && o[k] > 0)) throw bad(`${k} must be a positive number, got ${o[k]}`);
  }
  const doFetch = o.fetch ?? globalThis.fetch;
  const root = base.href.endsWith('/') ? base.href : `${base.href}/`;
  const headers: Record<string, string> = o.token ? { authorization: `Bearer ${o.token}` } : {};

  const url = (path: string, query: Record<string, string | number | undefined> = {}) => {
    const u = new URL(path.replace(/^\//, ''), root);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  };

  async function request(u: URL, accept: readonly number[] = []): Promise<Response> {
    let res: Response;
    try {
      res = await doFetch(u, { headers, signal: AbortSignal.timeout(o.timeoutMs) });
    } catch (err) {
      throw new ClientError(CLIENT_ERROR_CODES.NETWORK, `GET ${u.pathname} failed: ${String(err)}`, {
        cause: err,
      });
    }
    if (res.ok || accept.includes(res.status)) return res;
    let serverCode: string | undefined;
    let message = `GET ${u.pathname} answered ${res.status}`;
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      serverCode = body.error?.code;
      if (body.error?.message) message += `: ${body.error.message}`;
    } catch {
      // not a JSON error body
    }
    throw new ClientError(CLIENT_ERROR_CODES.HTTP, message, {
      status: res.status,
      ...(serverCode ? { serverCode } : {}),
    });
  }
  const json = async <T>(u: URL, accept?: readonly number[]) =>
    (await (await request(u, accept)).json()) as T;
  const sym = (s: string) => encodeURIComponent(s);

  return {
    // /health answers 503 with the same body when the status is down.
    health: () => json<HealthResponse>(url('/health'), [503]),
    signals: () => json<SignalsResponse>(url('/signals')),
    signal: (symbol) => json<Signal>(url(`/signals/${sym(symbol)}`)),
    bars: (symbol, b = {}) =>
      json<BarsResponse>(
        url(`/bars/${sym(symbol)}`, { timeframe: b.timeframe, limit: b.limit, from: b.from, to: b.to }),
      ),
    features: (symbol) => json<FeaturesResponse>(url(`/features/${sym(symbol)}`)),
    cluster: () => json<ClusterResponse>(url('/cluster')),
    metrics: async () => (await request(url('/metrics'))).text(),
    stream: (s = {}) =>
      openStream(
        {
          url: url('/stream'),
          wsUrl: (() => {
            const w = url('/stream/ws');
            w.protocol = w.protocol === 'https:' ? 'wss:' : 'ws:';
            return w;
          })(),
          headers,
          token: o.token,
          WebSocket: o.WebSocket,
          fetch: doFetch,
          initialDelayMs: o.reconnectInitialDelayMs,
          maxDelayMs: o.reconnectMaxDelayMs,
          random: o.random ?? Math.random,
        },
        s,
      ),
  };
}
