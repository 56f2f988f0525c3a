export {
  type PolygonFetcher,
  createPolygonFetcher,
  POLYGON_FETCHER_DEFAULTS,
  POLYGON_MAX_SNAPSHOT_TICKERS,
  POLYGON_PUBLIC_URL,
  type PolygonFetcherOptions,
} from './fetcher';
export {
  POLYGON_TIMESPANS,
  POLYGON_MAX_AGGREGATES,
  polygonMaxRangeMs,
  type PolygonLastTrade,
  type PolygonLastQuote,
  type PolygonSnapshot,
  type PolygonSnapshotBar,
} from './parse';
export {
  type PolygonStream,
  createPolygonStream,
  POLYGON_STREAM_DEFAULTS,
  POLYGON_STREAM_MARKETS,
  POLYGON_STREAM_CHANNELS,
  POLYGON_STREAM_STATES,
  type PolygonStreamOptions,
  type PolygonStreamMarket,
  type PolygonStreamState,
  type PolygonStreamStatus,
  type PolygonStreamStats,
  type PolygonStreamTimeframe,
} from './stream';
export {
  PolygonStreamError,
  isPolygonStreamError,
  POLYGON_STREAM_ERROR_CODES,
  type PolygonStreamErrorCode,
} from './stream-errors';
