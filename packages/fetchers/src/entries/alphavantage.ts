// Subpath entry `@pipeline/fetchers/alphavantage`: only this source, so a bundle of it holds nothing else
// (no `ws` unless it is the Polygon entry).
export * from '../alphavantage';
