export { splitRange, finishBars, clipBars, lastBars, resampleBars, toPrice, toVolume, isConsistentOhlc, type RangeChunk } from './bars';
export { createFetcherStats, type FetcherStats } from './stats';
export { throwIfAborted, unsupportedTimeframe, checkRequest, runChunked, rowToBar, countFailure, type RawRow } from './fetcher-kit';
