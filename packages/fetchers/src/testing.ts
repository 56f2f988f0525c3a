// `@pipeline/fetchers/testing`: helpers for bot authors' and the sidecar's tests.
export {
  startProviderServer,
  type ProviderServer,
  type ProviderServerOptions,
  type ProviderFault,
} from './testing/provider-server';
export { yahooChartBody, yahooChartError, yahooQuoteBody, alphaVantageSeriesBody } from './testing/formats';
