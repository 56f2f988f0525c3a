export {
  createSyntheticFetcher,
  SYNTHETIC_FETCHER_DEFAULTS,
  type SyntheticFetcher,
  type SyntheticFetcherOptions,
} from './fetcher';
