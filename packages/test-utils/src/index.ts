// Helpers shared by the workspace's tests. Private: never published.
export {
  repoRoot,
  fixturesDir,
  readFixture,
  fixtureManifest,
  type FixtureManifestEntry,
  tempDir,
  tempSqlitePath,
  cleanupTempDirs,
} from './paths';
export {
  TEST_REDIS_URL,
  uniqueRedisPrefix,
  deleteRedisPrefix,
  startRedisServer,
  answersPing,
  type RedisServerHandle,
} from './redis';
export { getFreePort } from './net';
export { startRedisCluster, type RedisClusterHandle } from './redis-cluster';
export {
  startFixtureServer,
  fixtureReply,
  type FixtureServer,
  type FixtureReply,
  type FixtureHandler,
  type RecordedRequest,
} from './fixture-server';
export { captureLogger, type CapturedLog } from './logger';
export { malformedCorpus, type MalformedPayload } from './malformed';
export {
  runHistoryStoreContract,
  contractBar,
  type HistoryStoreFactory,
  type HistoryStoreFixture,
} from './store-contract';
export {
  benchRow,
  benchTable,
  percentile,
  percentileOf,
  round,
  envNumber,
  BENCH_T0,
  benchBar,
  measureLoopBlocking,
  writeBenchResult,
  type BenchRow,
  type BenchResult,
  type LoopBlocking,
  type LoopBlockingOptions,
  measureCycles,
  type CycleCost,
} from './bench';
export { TEST_SECRET, SECRET_SPELLINGS } from './secrets';
export {
  shiftedClock,
  openMarketClock,
  openMarketShiftDays,
  type ShiftedClock,
  type OpenMarketClockOptions,
} from './market-clock';
