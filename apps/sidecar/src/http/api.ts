import { createHash, timingSafeEqual } from 'node:crypto';
import { isTimeframe, type Timeframe } from '@pipeline/core';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { isSidecarError, SIDECAR_ERROR_CODES, type UnknownSymbolError } from '../errors';
import { silentLogger, type Logger } from '../wiring/logger';
import { type Sidecar } from '../sidecar';
import { readBars } from './bars';
import { isDashboardUrl, registerDashboard, type DashboardOptions } from './dashboard';
import { isDocsUrl, registerOpenApi } from './openapi';
import { attachStream } from './stream';
import { type StreamHub, type StreamHubOptions } from './stream-hub';
import {
  barsQuerySchema,
  barsResponseSchema,
  errorSchema,
  featuresResponseSchema,
  healthResponseSchema,
  metricsJsonResponseSchema,
  metricsTextResponseSchema,
  signalSchema,
  signalsResponseSchema,
  statusSchema,
  symbolParams,
} from './schemas';

/** What the HTTP API reads from the service. */
export type ApiView = Pick<
  Sidecar,
  | 'health'
  | 'resolveSymbol'
  | 'signal'
  | 'signals'
  | 'bars'
  | 'features'
  | 'metrics'
  | 'ready'
  | 'symbolState'
> & {
  config: Pick<Sidecar['config'], 'timeframe' | 'maxBarsCache'>;
};

export interface BuildAppOptions {
  /** When set, every route but /health* needs `Authorization: Bearer <token>`. @default undefined */
  apiToken?: string;
  /** Passed to fastify (its own logger stays off unless given). @default { logger: false } */
  fastify?: FastifyServerOptions;
  /** Where unexpected errors (HTTP 500) are logged. @default silentLogger */
  logger?: Logger;
  /** Push-stream replay ring and slow-client limits (see http/stream-hub.ts). @default DEFAULT_STREAM_HUB_OPTIONS */
  stream?: StreamHubOptions;
  /** A hub to serve instead of a new one (tests publish into it). @default a new hub fed by the view */
  streamHub?: StreamHub;
  /** Where the built dashboard served at `/` is (see http/dashboard.ts). @default dist/dashboard */
  dashboard?: DashboardOptions;
}

/** HTTP error codes of the API, as sent in `{ error: { code, message } }`. */
export const API_ERROR_CODES = {
  unauthorized: 'UNAUTHORIZED',
  badRequest: 'BAD_REQUEST',
  notFound: 'NOT_FOUND',
  unknownSymbol: SIDECAR_ERROR_CODES.UNKNOWN_SYMBOL,
  internal: 'INTERNAL',
} as const;

/** The body of every error answer: `{ error: { code, message } }` (plus suggestions for an unknown symbol). */
export function errorBody(
  code: string,
  message: string,
  extra: { suggestions?: readonly string[] } = {},
): { error: { code: string; message: string; suggestions?: string[] } } {
  return {
    error: { code, message, ...(extra.suggestions ? { suggestions: [...extra.suggestions] } : {}) },
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * The sidecar's HTTP API as a fastify instance that does not listen: tests drive it with
 * `inject()`, main.ts calls `listen()`. Every route has request and response schemas (the
 * response schema also makes serialisation faster).
 */
export function buildApp(view: ApiView, options: BuildAppOptions = {}): FastifyInstance {
  const app = Fastify({ logger: false, ...options.fastify });
  registerOpenApi(app, { version: () => view.health().version });
  const tokenDigest = options.apiToken ? digest(options.apiToken) : undefined;

  if (tokenDigest) {
    app.addHook('onRequest', async (req, reply) => {
      if (req.url === '/health' || req.url.startsWith('/health/') || req.url.startsWith('/health?')) return;
      // The dashboard's page and assets hold no data; the page asks for the token itself.
      if (isDashboardUrl(req.url)) return;
      // The API's description and its browsable page hold no data either (the UI's calls send the token).
      if (isDocsUrl(req.url)) return;
      const header = req.headers.authorization ?? '';
      // EventSource cannot set headers: the push streams also take the token as `?token=`.
      const given = header.startsWith('Bearer ') ? header.slice(7) : streamToken(req.url);
      // Comparing fixed-length digests keeps the comparison constant-time whatever the length given.
      if (!timingSafeEqual(digest(given), tokenDigest)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send(errorBody(API_ERROR_CODES.unauthorized, 'missing or wrong bearer token'));
      }
    });
  }

  // Request metrics by route pattern (never the raw URL, so label cardinality stays bounded).
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    view.metrics.httpRequests.inc({ method: req.method, route, status: reply.statusCode });
    view.metrics.httpRequestDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err, req, reply) => {
    if (isSidecarError(err, SIDECAR_ERROR_CODES.UNKNOWN_SYMBOL)) {
      const e = err as UnknownSymbolError;
      return reply.code(404).send(errorBody(e.code, e.message, { suggestions: e.suggestions }));
    }
    const e = err as { validation?: unknown; statusCode?: number; message?: string };
    if (e.validation || e.statusCode === 400) {
      return reply.code(400).send(errorBody(API_ERROR_CODES.badRequest, e.message ?? 'bad request'));
    }
    (options.logger ?? silentLogger).error('HTTP request failed', {
      method: req.method,
      route: req.routeOptions.url,
      err,
    });
    return reply.code(500).send(errorBody(API_ERROR_CODES.internal, 'internal error'));
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send(errorBody(API_ERROR_CODES.notFound, `no route ${req.method} ${req.url.split('?')[0]}`)),
  );

  app.get('/health', {
    schema: {
      response: {
        200: healthResponseSchema,
        503: healthResponseSchema,
      },
    },
    handler: async (_req, reply) => {
      const h = view.health();
      return reply.code(h.status === 'down' ? 503 : 200).send(h);
    },
  });
  app.get(
    '/health/live',
    { schema: { response: { 200: statusSchema, 503: statusSchema } } },
    async (_req, reply) => {
      const phase = view.health().phase;
      return phase === 'stopped' ? reply.code(503).send({ status: 'down' }) : { status: 'ok' };
    },
  );
  app.get(
    '/health/ready',
    { schema: { response: { 200: statusSchema, 503: statusSchema } } },
    async (_req, reply) => {
      if (!view.ready) return reply.code(503).send({ status: view.health().phase });
      return view.health().status === 'down' ? reply.code(503).send({ status: 'down' }) : { status: 'ready' };
    },
  );

  app.get('/metrics', { schema: { response: { 200: metricsTextResponseSchema } } }, async (_req, reply) =>
    reply.type(view.metrics.contentType).send(await view.metrics.text()),
  );
  app.get('/metrics/json', { schema: { response: { 200: metricsJsonResponseSchema } } }, async () =>
    view.metrics.json(),
  );

  const withTime = <T extends { dataTs: number }>(s: T) => ({
    ...s,
    dataTime: new Date(s.dataTs).toISOString(),
  });

  app.get('/signals', {
    schema: {
      response: {
        200: signalsResponseSchema,
      },
    },
    handler: async () => {
      const signals = view.signals().map(withTime);
      return { signals, count: signals.length };
    },
  });

  app.get<{ Params: { symbol: string } }>('/signals/:symbol', {
    schema: { params: symbolParams, response: { 200: signalSchema, 404: errorSchema } },
    handler: async (req, reply) => {
      const symbol = view.resolveSymbol(req.params.symbol);
      const s = view.signal(symbol);
      if (!s) {
        return reply.code(404).send(errorBody(API_ERROR_CODES.notFound, `no signal yet for ${symbol}`));
      }
      return withTime(s);
    },
  });

  app.get<{
    Params: { symbol: string };
    Querystring: { timeframe?: Timeframe; limit?: number; from?: number; to?: number };
  }>('/bars/:symbol', {
    schema: {
      params: symbolParams,
      querystring: barsQuerySchema,
      response: {
        200: barsResponseSchema,
        400: errorSchema,
        404: errorSchema,
      },
    },
    handler: async (req) => {
      const symbol = view.resolveSymbol(req.params.symbol);
      const timeframe =
        req.query.timeframe && isTimeframe(req.query.timeframe) ? req.query.timeframe : view.config.timeframe;
      // Higher timeframes are resampled from the base bars; a lowered limit is reported (http/bars.ts).
      const { from, to, limit } = req.query;
      const r = await readBars(view, symbol, { timeframe, limit, from, to });
      const brokerSymbol = view.symbolState(symbol)?.brokerSymbol ?? symbol;
      return {
        symbol,
        brokerSymbol,
        timeframe,
        stale: r.stale,
        ageMs: r.ageMs,
        count: r.bars.length,
        limit: r.limit,
        clipped: r.clipped,
        bars: r.bars,
      };
    },
  });

  app.get<{ Params: { symbol: string } }>('/features/:symbol', {
    schema: {
      params: symbolParams,
      response: {
        200: featuresResponseSchema,
        404: errorSchema,
      },
    },
    handler: async (req, reply) => {
      const symbol = view.resolveSymbol(req.params.symbol);
      const f = view.features(symbol);
      if (!f)
        return reply.code(404).send(errorBody(API_ERROR_CODES.notFound, `no features yet for ${symbol}`));
      return { symbol, ...f };
    },
  });

  attachStream(app, view, { stream: options.stream, hub: options.streamHub });
  registerDashboard(app, options.dashboard);
  return app;
}

function streamToken(url: string): string {
  if (!url.startsWith('/stream')) return '';
  return new URLSearchParams(url.split('?')[1] ?? '').get('token') ?? '';
}
