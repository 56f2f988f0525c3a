import { createHash, timingSafeEqual } from 'node:crypto';
import { TIMEFRAMES, isTimeframe, type Timeframe } from '@pipeline/core';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { isSidecarError, SIDECAR_ERROR_CODES, type UnknownSymbolError } from '../errors';
import { silentLogger, type Logger } from '../wiring/logger';
import { type Sidecar } from '../sidecar';

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
}

/** HTTP error codes of the API, as sent in `{ error: { code, message } }`. */
export const API_ERROR_CODES = {
  unauthorized: 'UNAUTHORIZED',
  badRequest: 'BAD_REQUEST',
  notFound: 'NOT_FOUND',
  unknownSymbol: SIDECAR_ERROR_CODES.UNKNOWN_SYMBOL,
  internal: 'INTERNAL',
} as const;

const num = { type: 'number' } as const;
const nullableNum = { type: ['number', 'null'] } as const;
const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        suggestions: { type: 'array', items: { type: 'string' } },
      },
    },
  },
} as const;
const indicatorsSchema = { type: 'object', additionalProperties: nullableNum } as const;
const signalSchema = {
  type: 'object',
  properties: {
    symbol: { type: 'string' },
    brokerSymbol: { type: 'string' },
    direction: { type: 'string', enum: ['long', 'short', 'flat'] },
    confidence: num,
    rawConfidence: num,
    reasons: { type: 'array', items: { type: 'string' } },
    indicators: indicatorsSchema,
    price: num,
    stop: nullableNum,
    target: nullableNum,
    strategy: { type: 'string' },
    quality: num,
    dataTs: num,
    dataTime: { type: 'string' },
    generatedAt: num,
    ageMs: num,
    stale: { type: 'boolean' },
  },
} as const;
const barSchema = {
  type: 'object',
  properties: {
    symbol: { type: 'string' },
    timeframe: { type: 'string' },
    ts: num,
    open: num,
    high: num,
    low: num,
    close: num,
    volume: num,
    source: { type: 'string' },
    final: { type: 'boolean' },
    quality: num,
  },
} as const;
const symbolParams = {
  type: 'object',
  required: ['symbol'],
  properties: { symbol: { type: 'string', minLength: 1, maxLength: 40 } },
} as const;

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
  const tokenDigest = options.apiToken ? digest(options.apiToken) : undefined;

  if (tokenDigest) {
    app.addHook('onRequest', async (req, reply) => {
      if (req.url === '/health' || req.url.startsWith('/health/') || req.url.startsWith('/health?')) return;
      const header = req.headers.authorization ?? '';
      const given = header.startsWith('Bearer ') ? header.slice(7) : '';
      // Comparing fixed-length digests keeps the comparison constant-time whatever the length given.
      if (!timingSafeEqual(digest(given), tokenDigest)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: { code: API_ERROR_CODES.unauthorized, message: 'missing or wrong bearer token' } });
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
      return reply
        .code(404)
        .send({ error: { code: e.code, message: e.message, suggestions: [...e.suggestions] } });
    }
    const e = err as { validation?: unknown; statusCode?: number; message?: string };
    if (e.validation || e.statusCode === 400) {
      return reply
        .code(400)
        .send({ error: { code: API_ERROR_CODES.badRequest, message: e.message ?? 'bad request' } });
    }
    (options.logger ?? silentLogger).error('HTTP request failed', {
      method: req.method,
      route: req.routeOptions.url,
      err,
    });
    return reply.code(500).send({ error: { code: API_ERROR_CODES.internal, message: 'internal error' } });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      error: { code: API_ERROR_CODES.notFound, message: `no route ${req.method} ${req.url.split('?')[0]}` },
    }),
  );

  app.get('/health', {
    schema: {
      response: {
        200: { type: 'object', additionalProperties: true },
        503: { type: 'object', additionalProperties: true },
      },
    },
    handler: async (_req, reply) => {
      const h = view.health();
      return reply.code(h.status === 'down' ? 503 : 200).send(h);
    },
  });
  const statusSchema = { type: 'object', properties: { status: { type: 'string' } } } as const;
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

  app.get('/metrics', async (_req, reply) =>
    reply.type(view.metrics.contentType).send(await view.metrics.text()),
  );
  app.get('/metrics/json', async () => view.metrics.json());

  const withTime = <T extends { dataTs: number }>(s: T) => ({
    ...s,
    dataTime: new Date(s.dataTs).toISOString(),
  });

  app.get('/signals', {
    schema: {
      response: {
        200: { type: 'object', properties: { signals: { type: 'array', items: signalSchema }, count: num } },
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
        return reply
          .code(404)
          .send({ error: { code: API_ERROR_CODES.notFound, message: `no signal yet for ${symbol}` } });
      }
      return withTime(s);
    },
  });

  app.get<{ Params: { symbol: string }; Querystring: { timeframe?: Timeframe; limit?: number } }>(
    '/bars/:symbol',
    {
      schema: {
        params: symbolParams,
        querystring: {
          type: 'object',
          properties: {
            timeframe: { type: 'string', enum: [...TIMEFRAMES] },
            limit: { type: 'integer', minimum: 1, maximum: 100_000 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              symbol: { type: 'string' },
              brokerSymbol: { type: 'string' },
              timeframe: { type: 'string' },
              stale: { type: 'boolean' },
              ageMs: nullableNum,
              count: num,
              bars: { type: 'array', items: barSchema },
            },
          },
          400: errorSchema,
          404: errorSchema,
        },
      },
      handler: async (req) => {
        const symbol = view.resolveSymbol(req.params.symbol);
        const timeframe =
          req.query.timeframe && isTimeframe(req.query.timeframe)
            ? req.query.timeframe
            : view.config.timeframe;
        const limit = Math.min(req.query.limit ?? 500, view.config.maxBarsCache);
        const r = await view.bars(symbol, timeframe, limit);
        const brokerSymbol = view.symbolState(symbol)?.brokerSymbol ?? symbol;
        return {
          symbol,
          brokerSymbol,
          timeframe,
          stale: r.stale,
          ageMs: r.ageMs,
          count: r.bars.length,
          bars: r.bars,
        };
      },
    },
  );

  app.get<{ Params: { symbol: string } }>('/features/:symbol', {
    schema: {
      params: symbolParams,
      response: {
        200: {
          type: 'object',
          properties: {
            symbol: { type: 'string' },
            dataTs: nullableNum,
            stale: { type: 'boolean' },
            values: indicatorsSchema,
          },
        },
        404: errorSchema,
      },
    },
    handler: async (req, reply) => {
      const symbol = view.resolveSymbol(req.params.symbol);
      const f = view.features(symbol);
      if (!f)
        return reply
          .code(404)
          .send({ error: { code: API_ERROR_CODES.notFound, message: `no features yet for ${symbol}` } });
      return { symbol, ...f };
    },
  });

  return app;
}
