// GET /cluster: the members of this instance's cluster, the symbols each owns and the lease expiries.
// Outside cluster mode it answers 404 with a JSON error that says how to turn cluster mode on.
import { type FastifyInstance } from 'fastify';
import { API_ERROR_CODES, errorBody } from '../http/api';
import { clusterResponseSchema, errorSchema } from '../http/schemas';
import { type ClusterStage } from './stage';

export function registerClusterRoutes(
  app: FastifyInstance,
  view: { readonly cluster: ClusterStage | null },
): void {
  app.get('/cluster', {
    schema: {
      description: 'Cluster mode: members, the symbols each owns, lease expiries and this instance id',
      response: { 200: clusterResponseSchema, 404: errorSchema },
    },
    handler: async (_req, reply) => {
      const cluster = view.cluster;
      if (!cluster)
        return reply
          .code(404)
          .send(
            errorBody(
              API_ERROR_CODES.notFound,
              'not in cluster mode: set CLUSTER_NAME (with REDIS_URL) to run several sidecars as one',
            ),
          );
      return cluster.view();
    },
  });
}
