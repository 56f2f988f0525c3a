import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  FetchError,
  assertNumberOption,
  resolveOptions,
  systemClock,
  OptionsError,
  type Clock,
  type FetchErrorKind,
  type SourceName,
} from '@pipeline/core';
import { got, type RequestError } from 'got';
import { redactSecrets, redactUrl } from '@pipeline/core';

/** Keep-alive sockets per provider (ARCHITECTURE.md `HTTP_POOL_SIZE`). */
export const HTTP_POOL_SIZE = 10;

export interface HttpClientOptions {
  /** Source the client talks to; every error it throws is attributed to it. */
  source: SourceName;
  /** Keep-alive sockets kept per origin (http and https each). @default 10 (`HTTP_POOL_SIZE`) */
  poolSize: number;
  /** Whole-request timeout in milliseconds (connect + headers + body). @default 10000 */
  timeoutMs: number;
  /** Headers sent with every request. @default a `user-agent` naming this package */
  headers: Readonly<Record<string, string>>;
  /**
   * Secret values (API keys) scrubbed from every error message, in addition to the query
   * parameters `redactUrl` always masks. @default []
   */
  secrets: readonly string[];
  /** Clock used to turn an HTTP-date `Retry-After` into milliseconds. @default systemClock */
  clock: Clock;
}

export const HTTP_CLIENT_DEFAULTS: Readonly<HttpClientOptions> = Object.freeze({
  source: 'yahoo',
  poolSize: HTTP_POOL_SIZE,
  timeoutMs: 10_000,
  headers: Object.freeze({
    'user-agent': 'Mozilla/5.0 (compatible; @pipeline/fetchers)',
    accept: 'application/json,text/plain,*/*',
  }),
  secrets: Object.freeze([]),
  clock: systemClock,
});

export interface HttpRequestOptions {
  /** Query parameters; `undefined` values are left out. */
  searchParams?: Readonly<Record<string, string | number | boolean | undefined>>;
  signal?: AbortSignal;
  headers?: Readonly<Record<string, string>>;
}

export interface HttpResponse<T> {
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: T;
  /** The request URL with secrets masked, safe for messages. */
  url: string;
}

export interface HttpClientStats {
  /** Requests sent (each one that reached the network layer). */
  requests: number;
  /** Requests that ended without an HTTP response (timeout, reset, refused, aborted, truncated). */
  networkFailures: number;
}

/** A small HTTP client shared by the fetchers: got + keep-alive agents, no retries, text bodies. */
export interface HttpClient {
  readonly source: SourceName;
  /** GET a URL; answers every HTTP status, throws {@link FetchError} only when no complete response arrived. */
  getText(url: string, options?: HttpRequestOptions): Promise<HttpResponse<string>>;
  /**
   * GET and parse JSON. A parseable body is returned whatever the status (providers read their
   * own error bodies); an unparseable one throws: `malformed` for 2xx (HTML, empty, cut off),
   * the status' kind otherwise (see {@link httpStatusError}).
   */
  getJson(url: string, options?: HttpRequestOptions): Promise<HttpResponse<unknown>>;
  /** Turns a non-2xx response into the matching {@link FetchError}. */
  statusError(res: HttpResponse<unknown>, init?: StatusErrorInit): FetchError;
  stats(): HttpClientStats;
  /** Destroys the keep-alive sockets. */
  close(): Promise<void>;
}

export interface StatusErrorInit {
  symbol?: string;
  /** What a 404 means for this endpoint. @default 'bad_request' */
  notFoundKind?: FetchErrorKind;
  /** Extra detail for the message (e.g. the provider's error text); secrets are scrubbed. */
  detail?: string;
}

/**
 * Parses `Retry-After` (delta seconds or an HTTP date) into milliseconds from `now`; undefined when
 * absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === '') return undefined;
  const trimmed = raw.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** The FetchError kind of an HTTP status, before any provider-specific reading of the body. */
export function kindOfStatus(status: number, notFoundKind: FetchErrorKind = 'bad_request'): FetchErrorKind {
  if (status === 429) return 'rate_limited';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return notFoundKind;
  if (status === 408 || status >= 500) return 'transient';
  if (status >= 400) return 'bad_request';
  return 'malformed';
}

const NETWORK_CODES = new Set([
  'ETIMEDOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);

export function createHttpClient(
  options: Partial<HttpClientOptions> & Pick<HttpClientOptions, 'source'>,
): HttpClient {
  const opts = resolveOptions('createHttpClient', HTTP_CLIENT_DEFAULTS, options);
  assertNumberOption('createHttpClient', 'poolSize', opts.poolSize, 1, 1024);
  assertNumberOption('createHttpClient', 'timeoutMs', opts.timeoutMs, 1, 600_000);
  if (!Array.isArray(opts.secrets)) {
    throw new OptionsError(
      `createHttpClient: option "secrets" must be an array of strings, got ${typeof opts.secrets}`,
    );
  }
  const source = opts.source;
  const agent = {
    http: new HttpAgent({ keepAlive: true, maxSockets: opts.poolSize, maxFreeSockets: opts.poolSize }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: opts.poolSize, maxFreeSockets: opts.poolSize }),
  };
  const counters: HttpClientStats = { requests: 0, networkFailures: 0 };
  const scrub = (text: string): string => redactSecrets(redactUrl(text), opts.secrets);

  const buildUrl = (url: string, params: HttpRequestOptions['searchParams']): string => {
    const u = new URL(url);
    for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  };

  const networkError = (err: unknown, safeUrl: string, signal?: AbortSignal): FetchError => {
    const e = err as Partial<RequestError> & { code?: string; name?: string };
    const code = e.code ?? e.name ?? 'UNKNOWN';
    // got's error carries its options (URL with the key) - keep only a scrubbed summary as cause.
    const cause = new Error(scrub(`${e.name ?? 'Error'} ${code}: ${e.message ?? ''}`));
    if (signal?.aborted || code === 'ERR_ABORTED' || e.name === 'AbortError') {
      return new FetchError({ kind: 'aborted', source, message: `GET ${safeUrl} aborted`, cause });
    }
    if (e.name === 'TimeoutError' || code === 'ETIMEDOUT') {
      return new FetchError({
        kind: 'transient',
        source,
        message: `GET ${safeUrl} timed out after ${opts.timeoutMs} ms`,
        cause,
      });
    }
    const status = e.response?.statusCode;
    if (status !== undefined && status >= 200 && status < 300) {
      // Headers arrived, the body did not finish: a truncated payload.
      return new FetchError({
        kind: 'malformed',
        source,
        status,
        message: `GET ${safeUrl} body cut off (${code})`,
        cause,
      });
    }
    if (
      NETWORK_CODES.has(code) ||
      /socket hang up/i.test(e.message ?? '') ||
      e.name === 'ReadError' ||
      e.name === 'RequestError'
    ) {
      return new FetchError({ kind: 'transient', source, message: `GET ${safeUrl} failed: ${code}`, cause });
    }
    return new FetchError({
      kind: 'transient',
      source,
      message: `GET ${safeUrl} failed: ${scrub(String(e.message ?? code))}`,
      cause,
    });
  };

  const client: HttpClient = {
    source,
    async getText(url, req = {}) {
      const full = buildUrl(url, req.searchParams);
      const safeUrl = scrub(full);
      if (req.signal?.aborted)
        throw new FetchError({ kind: 'aborted', source, message: `GET ${safeUrl} aborted before sending` });
      counters.requests++;
      try {
        const res = await got(full, {
          method: 'GET',
          headers: { ...opts.headers, ...req.headers },
          agent,
          timeout: { request: opts.timeoutMs },
          // Retries belong to @pipeline/breaker; a got-level retry would hide failures from it.
          retry: { limit: 0 },
          throwHttpErrors: false,
          followRedirect: true,
          responseType: 'text',
          signal: req.signal,
        });
        return { status: res.statusCode, headers: res.headers, body: res.body, url: safeUrl };
      } catch (err) {
        counters.networkFailures++;
        throw networkError(err, safeUrl, req.signal);
      }
    },
    async getJson(url, req = {}) {
      const res = await client.getText(url, req);
      const text = res.body;
      try {
        if (text.trim() === '') throw new SyntaxError('empty body');
        return { ...res, body: JSON.parse(text) as unknown };
      } catch {
        if (res.status >= 200 && res.status < 300) {
          const what =
            text.trim() === ''
              ? 'an empty body'
              : /^\s*</.test(text)
                ? 'an HTML page'
                : 'a body that is not JSON';
          throw new FetchError({
            kind: 'malformed',
            source,
            status: res.status,
            message: `GET ${res.url} answered ${what} where JSON was expected`,
          });
        }
        throw client.statusError({ ...res, body: text });
      }
    },
    statusError(res, init = {}) {
      const kind = kindOfStatus(res.status, init.notFoundKind);
      const retryAfterMs =
        kind === 'rate_limited' ? parseRetryAfter(res.headers['retry-after'], opts.clock.now()) : undefined;
      const snippet = typeof res.body === 'string' ? res.body.trim().slice(0, 120) : '';
      const detail =
        init.detail ??
        (snippet && !/^\s*</.test(snippet) ? snippet : /^\s*</.test(snippet) ? 'HTML error page' : '');
      return new FetchError({
        kind,
        source,
        status: res.status,
        retryAfterMs,
        symbol: init.symbol,
        message: scrub(`GET ${res.url} answered HTTP ${res.status}${detail ? `: ${detail}` : ''}`),
      });
    },
    stats: () => ({ ...counters }),
    async close() {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
  return client;
}
