export {
  TwelveDataFetcher,
  createTwelveDataFetcher,
  TWELVEDATA_FETCHER_DEFAULTS,
  type TwelveDataFetcherOptions,
} from './fetcher';
export { TWELVEDATA_INTERVALS, TWELVEDATA_MAX_OUTPUTSIZE, type TwelveDataQuote } from './parse';
