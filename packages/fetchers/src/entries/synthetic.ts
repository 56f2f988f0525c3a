// Subpath entry `@pipeline/fetchers/synthetic`: only this source, so a bundle of it holds nothing else
// (no `ws` unless it is the Polygon entry).
export * from '../synthetic';
