export {
  createHttpClient,
  parseRetryAfter,
  kindOfStatus,
  HTTP_POOL_SIZE,
  HTTP_CLIENT_DEFAULTS,
  type HttpClient,
  type HttpClientOptions,
  type HttpClientStats,
  type HttpRequestOptions,
  type HttpResponse,
  type StatusErrorInit,
} from './client';
export { redactUrl, redactSecrets, SECRET_QUERY_PARAMS } from '@pipeline/core';
