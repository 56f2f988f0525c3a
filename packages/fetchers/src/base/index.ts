export {
  splitRange,
  finishBars,
  clipBars,
  lastBars,
  resampleBars,
  toPrice,
  toVolume,
  isConsistentOhlc,
  type RangeChunk,
} from './bars';
export { createFetcherStats, type FetcherStats } from './stats';
export { toProviderSymbol } from './symbols';
export {
  throwIfAborted,
  unsupportedTimeframe,
  checkRequest,
  runChunked,
  rowToBar,
  countFailure,
  OHLC_REPAIR_TOLERANCE,
  type RawRow,
} from './fetcher-kit';
