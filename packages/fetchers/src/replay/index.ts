export {
  createReplayFetcher,
  REPLAY_FETCHER_DEFAULTS,
  type ReplayFetcher,
  type ReplayFetcherOptions,
  type ReplayBarSource,
  type ReplayQuery,
  type ReplaySubscription,
  type ReplayBarEvent,
} from './fetcher';
export { parseReplayCsv, REPLAY_CSV_COLUMNS } from './csv';
