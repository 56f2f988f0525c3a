import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { silentLogger, type Logger } from '../wiring/logger';
import { type Sidecar } from '../sidecar';
import { registerDashboard, type DashboardOptions } from './dashboard';
import { registerBearerAuth, registerErrorHandlers, registerRequestMetrics } from './hooks';
import { registerOpenApi } from './openapi';
import { registerDataRoutes } from './routes/data';
import { registerHealthRoutes } from './routes/health';
import { attachStream } from './stream';
import { type StreamHub, type StreamHubOptions } from './stream-hub';

/** What the HTTP API reads from the service. */
export type ApiView = Pick<
  Sidecar,
  | 'health'
  | 'liveness'
  | 'readiness'
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

export { API_ERROR_CODES, errorBody } from './errors';

/**
 * The sidecar's HTTP API as a fastify instance that does not listen: tests drive it with
 * `inject()`, main.ts calls `listen()`. Every route has request and response schemas (the
 * response schema also makes serialisation faster).
 */
export function buildApp(view: ApiView, options: BuildAppOptions = {}): FastifyInstance {
  const app = Fastify({ logger: false, ...options.fastify });
  registerOpenApi(app, { version: () => view.health().version });
  if (options.apiToken) registerBearerAuth(app, options.apiToken);
  registerRequestMetrics(app, view);
  registerErrorHandlers(app, options.logger ?? silentLogger);
  registerHealthRoutes(app, view);
  registerDataRoutes(app, view);
  attachStream(app, view, { stream: options.stream, hub: options.streamHub });
  registerDashboard(app, options.dashboard);
  return app;
}
