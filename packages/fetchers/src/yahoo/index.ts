export {
  createYahooFetcher,
  YAHOO_FETCHER_DEFAULTS,
  YAHOO_CAPABILITIES,
  type YahooFetcher,
  type YahooFetcherOptions,
} from './fetcher';
export { YAHOO_INTERVALS, type YahooQuote } from './parse';
