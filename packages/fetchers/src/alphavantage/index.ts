export {
  createAlphaVantageFetcher,
  ALPHAVANTAGE_FETCHER_DEFAULTS,
  ALPHAVANTAGE_CAPABILITIES,
  type AlphaVantageFetcher,
  type AlphaVantageFetcherOptions,
} from './fetcher';
export {
  AV_INTERVALS,
  AV_INTRADAY_STAMPS,
  parseAvCsv,
  type AlphaVantageQuote,
  type AvIntradayStamp,
} from './parse';
