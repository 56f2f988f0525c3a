export {
  createClient,
  DEFAULT_CLIENT_OPTIONS,
  type BarsOptions,
  type Client,
  type ClientOptions,
} from './client';
export { CLIENT_ERROR_CODES, ClientError, isClientError, type ClientErrorCode } from './errors';
export { type StreamOptions, type WebSocketConstructor, type WebSocketLike } from './stream';
export {
  STREAM_KINDS,
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
} from './schemas';
export {
  type ApiBar,
  type BarsResponse,
  type ClusterResponse,
  type ErrorResponse,
  type FeaturesResponse,
  type HealthChange,
  type HealthResponse,
  type Signal,
  type SignalsResponse,
  type StreamEvent,
  type StreamKind,
} from './types';
