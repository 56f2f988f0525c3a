export {
  type TwelveDataFetcher,
  createTwelveDataFetcher,
  TWELVEDATA_FETCHER_DEFAULTS,
  TWELVEDATA_MAX_BATCH_SYMBOLS,
  type TwelveDataFetcherOptions,
} from './fetcher';
export { TWELVEDATA_INTERVALS, TWELVEDATA_MAX_OUTPUTSIZE, type TwelveDataQuote } from './parse';
