// The JSON schemas of the HTTP API's routes live in @pipeline/client (packages/client/src/schemas.ts,
// plain objects `as const`): fastify validates and serialises with these very objects and the client
// derives its TypeScript types from them (json-schema-to-ts' FromSchema), so the two cannot drift.
export {
  barSchema,
  barsQuerySchema,
  barsResponseSchema,
  clusterResponseSchema,
  errorSchema,
  featuresResponseSchema,
  healthResponseSchema,
  indicatorsSchema,
  metricsJsonResponseSchema,
  metricsTextResponseSchema,
  nullableNum,
  num,
  signalSchema,
  signalsResponseSchema,
  statusSchema,
  streamEventSchema,
  streamQuerySchema,
  symbolParams,
} from '@pipeline/client';
