export {
  createReplayFetcher,
  REPLAY_FETCHER_DEFAULTS,
  type ReplayFetcher,
  type ReplayFetcherOptions,
  type ReplayBarSource,
  type ReplayQuery,
} from './fetcher';
export { parseReplayCsv, REPLAY_CSV_COLUMNS } from './csv';
