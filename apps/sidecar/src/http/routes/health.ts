import { type FastifyInstance } from 'fastify';
import { type ApiView } from '../api';
import {
  healthResponseSchema,
  metricsJsonResponseSchema,
  metricsTextResponseSchema,
  statusSchema,
} from '../schemas';

/** `/health`, `/health/live`, `/health/ready`, `/metrics` and `/metrics/json`. */
export function registerHealthRoutes(app: FastifyInstance, view: ApiView): void {
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
  // The probes answer without the report: liveness in constant time, readiness from what decides it.
  app.get(
    '/health/live',
    { schema: { response: { 200: statusSchema, 503: statusSchema } } },
    async (_req, reply) => {
      const p = view.liveness();
      return reply.code(p.ok ? 200 : 503).send({ status: p.status });
    },
  );
  app.get(
    '/health/ready',
    { schema: { response: { 200: statusSchema, 503: statusSchema } } },
    async (_req, reply) => {
      const p = view.readiness();
      return reply.code(p.ok ? 200 : 503).send({ status: p.status });
    },
  );

  app.get('/metrics', { schema: { response: { 200: metricsTextResponseSchema } } }, async (_req, reply) =>
    reply.type(view.metrics.contentType).send(await view.metrics.text()),
  );
  app.get('/metrics/json', { schema: { response: { 200: metricsJsonResponseSchema } } }, async () =>
    view.metrics.json(),
  );
}
