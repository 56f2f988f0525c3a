// Public entry of @pipeline/redis-kb: explicit named re-exports only.
export {
  type HotCache,
  type CacheHealth,
  type CacheStatus,
  type CacheStatusChange,
  type CacheStats,
  type WriteBarsResult,
  type BarsWrittenEvent,
  type BarsRejectedEvent,
  type SignalWrittenEvent,
  CACHE_STATUSES,
} from './hot-cache';
export { type Disposable } from './events';
export {
  createRedisHotCache,
  type RedisHotCache,
  type RedisHotCacheOptions,
  type RedisClient,
  type RedisCacheHealth,
  REDIS_HOT_CACHE_DEFAULTS,
  MAX_POOL_SIZE,
  poolIndexOf,
  RECOMMENDED_CLIENT_OPTIONS,
  recommendedClientOptions,
} from './redis-hot-cache';
export {
  createMemoryHotCache,
  type MemoryHotCacheOptions,
  MEMORY_HOT_CACHE_DEFAULTS,
} from './memory-hot-cache';
export {
  createKeyLayout,
  type KeyLayout,
  STREAM_KINDS,
  type StreamKind,
  MAX_SYMBOL_LENGTH,
  isCacheableSymbol,
} from './keys';
export {
  encodeBar,
  decodeBar,
  encodeValue,
  decodeValue,
  encodeFanoutBars,
  decodeFanoutBars,
  type PackedBar,
} from './codec';
export {
  REDIS_KB_ERROR_CODES,
  type RedisKbErrorCode,
  RedisKbError,
  CacheUnavailableError,
  CacheCommandError,
  CacheClosedError,
  CacheDecodeError,
  isRedisKbError,
  isCacheUnavailableError,
} from './errors';
export { WRITE_BARS_LUA, RANGE_BARS_LUA } from './lua';
export {
  followBars,
  followSignals,
  type FollowBarsOptions,
  type FollowSignalsOptions,
  type BarFollower,
  type StreamFollower,
  FOLLOW_BARS_DEFAULTS,
} from './follow';
export { type Bar, type Timeframe, type SourceName, type Clock, type Scheduler } from '@pipeline/core';
