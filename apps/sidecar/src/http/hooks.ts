import { createHash, timingSafeEqual } from 'node:crypto';
import { type FastifyInstance } from 'fastify';
import { isSidecarError, SIDECAR_ERROR_CODES, type UnknownSymbolError } from '../errors';
import { noteForegroundWork } from '../pipeline/loop';
import { type Logger } from '../wiring/logger';
import { type ApiView } from './api';
import { isDashboardUrl } from './dashboard';
import { API_ERROR_CODES, errorBody } from './errors';
import { isDocsUrl } from './openapi';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function streamToken(url: string): string {
  if (!url.startsWith('/stream')) return '';
  return new URLSearchParams(url.split('?')[1] ?? '').get('token') ?? '';
}

/** Every route but /health*, the dashboard and the API docs needs `Authorization: Bearer <token>`. */
export function registerBearerAuth(app: FastifyInstance, apiToken: string): void {
  const tokenDigest = digest(apiToken);
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

/** Request metrics by route pattern (never the raw URL, so label cardinality stays bounded). */
export function registerRequestMetrics(app: FastifyInstance, view: Pick<ApiView, 'metrics'>): void {
  app.addHook('onResponse', async (req, reply) => {
    noteForegroundWork();
    const route = req.routeOptions.url ?? 'unmatched';
    view.metrics.httpRequests.inc({ method: req.method, route, status: reply.statusCode });
    view.metrics.httpRequestDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });
}

/** Unknown symbol -> 404 with suggestions, validation -> 400, anything else -> logged 500; no route -> 404. */
export function registerErrorHandlers(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((err, req, reply) => {
    if (isSidecarError(err, SIDECAR_ERROR_CODES.UNKNOWN_SYMBOL)) {
      const e = err as UnknownSymbolError;
      return reply.code(404).send(errorBody(e.code, e.message, { suggestions: e.suggestions }));
    }
    const e = err as { validation?: unknown; statusCode?: number; message?: string };
    if (e.validation || e.statusCode === 400) {
      return reply.code(400).send(errorBody(API_ERROR_CODES.badRequest, e.message ?? 'bad request'));
    }
    logger.error('HTTP request failed', {
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
}
