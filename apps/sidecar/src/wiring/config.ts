import { hostname } from 'node:os';
import { SOURCE_NAMES, TIMEFRAMES, type SourceName, type Timeframe } from '@pipeline/core';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors';

/** Winston levels the sidecar accepts in `LOG_LEVEL`. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `LOG_FORMAT`: `auto` is JSON when stdout is not a terminal or NODE_ENV=production, readable otherwise. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Sources that cannot work without an API key; they are dropped from the fallback order when it is missing. */
export const SOURCES_NEEDING_KEY: Readonly<Partial<Record<SourceName, keyof SidecarConfig['apiKeys']>>> =
  Object.freeze({
    alphavantage: 'alphavantage',
    twelvedata: 'twelvedata',
    polygon: 'polygon',
  });

/** The validated, frozen configuration of one sidecar process. Durations are converted to milliseconds. */
export interface SidecarConfig {
  symbols: readonly string[];
  /** Fallback order as configured. */
  sources: readonly SourceName[];
  /** Fallback order actually used: `sources` minus those lacking a needed API key. */
  activeSources: readonly SourceName[];
  timeframe: Timeframe;
  collectionIntervalMs: number;
  maxBarsCache: number;
  batchWriteIntervalMs: number;
  featureCacheTtlMs: number;
  staleAfterMs: number;
  /** BREAKER_RESET_AFTER in ms: how long an open breaker waits before it lets one probe call through. */
  breakerResetAfterMs: number;
  bootstrapDays: number;
  redisUrl: string | undefined;
  redisClusterNodes: readonly string[] | undefined;
  redisPoolSize: number;
  redisKeyPrefix: string;
  httpPoolSize: number;
  /** STREAM_REPLAY_SIZE: push-stream events kept per kind for resuming clients. */
  streamReplaySize: number;
  /** STREAM_MAX_QUEUE: unsent push-stream events after which a slow client is dropped. */
  streamMaxQueue: number;
  /** STREAM_BACKFILL_MAX_BARS: finished bars a resume older than the ring gets from the store. */
  streamBackfillMaxBars: number;
  sqlitePath: string;
  /** HISTORY_URL: `postgres://...` keeps the history in PostgreSQL (@pipeline/pg-store); unset: SQLite. */
  historyUrl: string | undefined;
  /** CLUSTER_NAME: set, this process is one of N sidecars sharing the work (needs Redis). */
  clusterName: string | undefined;
  /** INSTANCE_ID: this process's name in the cluster (default `${hostname}-${pid}`). */
  instanceId: string;
  /** LEASE_TTL in ms: how long a symbol lease lives without renewal. */
  leaseTtlMs: number;
  port: number;
  host: string;
  apiToken: string | undefined;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Symbols fetched at the same time in one cycle. */
  fetchConcurrency: number;
  /**
   * IDLE_GC: `on` collects garbage in the idle time between cycles (pipeline/loop.ts `createIdleGc`,
   * which switches V8's `--expose-gc` on at runtime); `off` leaves every collection to V8.
   */
  idleGc: boolean;
  apiKeys: { alphavantage?: string; twelvedata?: string; polygon?: string };
  baseUrls: {
    yahoo?: string;
    alphavantage?: string;
    twelvedata?: string;
    polygon?: string;
    polygonWs?: string;
  };
  symbolMapFile: string | undefined;
  broker: string | undefined;
  nodeEnv: string | undefined;
  /** Non-fatal remarks made while loading (e.g. a source dropped for lack of a key), for the start-up log. */
  notes: readonly string[];
}

/** Environment variables that hold secrets: their values never appear in errors or logs. */
export const SECRET_VARIABLES = [
  'API_TOKEN',
  'ALPHAVANTAGE_API_KEY',
  'TWELVEDATA_API_KEY',
  'POLYGON_API_KEY',
  'HISTORY_URL',
] as const;

const SYMBOL_RE = /^[A-Za-z0-9][A-Za-z0-9._^=/-]{0,31}$/;

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
const num = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?(\d+\.?\d*|\.\d+)$/)
    .transform(Number)
    .pipe(z.number().min(min).max(max));
const list = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item).min(1));
const url = (protocols: readonly string[]) =>
  z
    .string()
    .trim()
    .refine((s) => {
      try {
        return protocols.includes(new URL(s).protocol);
      } catch {
        return false;
      }
    });
const text = z.string().trim().min(1);

interface VariableSpec {
  schema: z.ZodType<unknown, string>;
  default?: string;
  allowed: string;
}

/**
 * Every variable the sidecar reads, with its schema, its default and the sentence shown when it is
 * wrong. ARCHITECTURE.md fixes the names and defaults; `LOG_FORMAT`, `FETCH_CONCURRENCY`,
 * `REDIS_KEY_PREFIX` and `IDLE_GC` are the sidecar's own additions.
 */
export const CONFIG_VARIABLES = {
  SYMBOLS: {
    schema: list(z.string().regex(SYMBOL_RE)).transform((a) => [...new Set(a.map((s) => s.toUpperCase()))]),
    default: 'EURUSD,XAUUSD,NAS100',
    allowed: 'a comma-separated list of symbols (letters, digits, . _ ^ = / -), e.g. EURUSD,XAUUSD,NAS100',
  },
  SOURCES: {
    schema: list(z.enum(SOURCE_NAMES)).transform((a) => [...new Set(a)]),
    default: 'yahoo,alphavantage,twelvedata,polygon',
    allowed: `a comma-separated list of ${SOURCE_NAMES.join(', ')}`,
  },
  TIMEFRAME: { schema: z.enum(TIMEFRAMES), default: '1m', allowed: `one of ${TIMEFRAMES.join(', ')}` },
  COLLECTION_INTERVAL: {
    schema: num(0.05, 3600),
    default: '1',
    allowed: 'seconds between cycles, 0.05 to 3600',
  },
  MAX_BARS_CACHE: { schema: int(10, 1_000_000), default: '5000', allowed: 'an integer from 10 to 1000000' },
  BATCH_WRITE_INTERVAL: {
    schema: num(0.1, 3600),
    default: '10',
    allowed: 'seconds between SQLite flushes, 0.1 to 3600',
  },
  FEATURE_CACHE_TTL: { schema: num(0, 3600), default: '2', allowed: 'seconds, 0 to 3600' },
  STALE_AFTER: { schema: num(1, 86_400), default: '10', allowed: 'seconds, 1 to 86400' },
  BREAKER_RESET_AFTER: {
    schema: num(1, 86_400),
    default: '60',
    allowed: 'seconds an open breaker waits before one probe call, 1 to 86400',
  },
  BOOTSTRAP_DAYS: {
    schema: int(0, 3650),
    default: '90',
    allowed: 'an integer number of days from 0 (no bootstrap) to 3650',
  },
  REDIS_URL: {
    schema: url(['redis:', 'rediss:']),
    allowed: 'a redis:// or rediss:// URL, or unset for the in-process cache',
  },
  REDIS_CLUSTER_NODES: {
    schema: list(z.string().regex(/^[^\s:,]+:\d{1,5}$/)),
    allowed: 'a comma-separated list of host:port cluster seed nodes',
  },
  REDIS_POOL_SIZE: { schema: int(1, 64), default: '1', allowed: 'an integer from 1 to 64' },
  REDIS_KEY_PREFIX: {
    schema: z.string().regex(/^[A-Za-z0-9:_.-]{1,64}$/),
    default: 'pipeline:',
    allowed: 'letters, digits and : _ . - (1 to 64 characters)',
  },
  HTTP_POOL_SIZE: { schema: int(1, 1024), default: '10', allowed: 'an integer from 1 to 1024' },
  STREAM_REPLAY_SIZE: { schema: int(1, 1_000_000), default: '1000', allowed: 'an integer from 1 to 1000000' },
  STREAM_MAX_QUEUE: { schema: int(1, 100_000), default: '1000', allowed: 'an integer from 1 to 100000' },
  STREAM_BACKFILL_MAX_BARS: {
    schema: int(1, 1_000_000),
    default: '20000',
    allowed: 'an integer from 1 to 1000000',
  },
  SQLITE_PATH: { schema: text, default: './data/pipeline.db', allowed: 'a file path (":memory:" for none)' },
  HISTORY_URL: {
    schema: url(['postgres:', 'postgresql:']),
    allowed: 'a postgres:// URL (history in PostgreSQL), or unset for SQLite',
  },
  CLUSTER_NAME: {
    schema: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
    allowed: 'letters, digits and _ . - (1 to 64 characters), or unset for a single process',
  },
  INSTANCE_ID: {
    schema: z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/),
    allowed: 'letters, digits and _ . : @ - (1 to 128 characters); default hostname-pid',
  },
  LEASE_TTL: { schema: num(0.5, 3600), default: '5', allowed: 'seconds, 0.5 to 3600' },
  PORT: { schema: int(0, 65_535), default: '8000', allowed: 'a TCP port from 0 to 65535' },
  HOST: { schema: text, default: '127.0.0.1', allowed: 'a host name or IP address to listen on' },
  API_TOKEN: {
    schema: z.string().min(16),
    allowed: 'at least 16 characters, or unset for no authentication',
  },
  LOG_LEVEL: { schema: z.enum(LOG_LEVELS), default: 'info', allowed: `one of ${LOG_LEVELS.join(', ')}` },
  LOG_FORMAT: { schema: z.enum(LOG_FORMATS), default: 'auto', allowed: `one of ${LOG_FORMATS.join(', ')}` },
  FETCH_CONCURRENCY: { schema: int(1, 10_000), default: '32', allowed: 'an integer from 1 to 10000' },
  IDLE_GC: {
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(['on', 'off']))
      .transform((v) => v === 'on'),
    default: 'on',
    allowed: 'on (garbage collected between cycles, --expose-gc switched on at runtime) or off (V8 alone)',
  },
  ALPHAVANTAGE_API_KEY: { schema: text, allowed: 'a non-empty key' },
  TWELVEDATA_API_KEY: { schema: text, allowed: 'a non-empty key' },
  POLYGON_API_KEY: { schema: text, allowed: 'a non-empty key' },
  YAHOO_BASE_URL: { schema: url(['http:', 'https:']), allowed: 'an http(s) URL' },
  ALPHAVANTAGE_BASE_URL: { schema: url(['http:', 'https:']), allowed: 'an http(s) URL' },
  TWELVEDATA_BASE_URL: { schema: url(['http:', 'https:']), allowed: 'an http(s) URL' },
  POLYGON_BASE_URL: { schema: url(['http:', 'https:']), allowed: 'an http(s) URL' },
  POLYGON_WS_URL: { schema: url(['ws:', 'wss:']), allowed: 'a ws(s) URL' },
  SYMBOL_MAP_FILE: { schema: text, allowed: 'a path to a JSON file of extra symbol mappings' },
  BROKER: {
    schema: z.string().regex(/^[a-z0-9-]{1,40}$/),
    allowed: 'a broker style name such as oanda, mt5 or mt5-suffix-a',
  },
  NODE_ENV: { schema: text, allowed: 'any text (production selects JSON logs)' },
} as const satisfies Record<string, VariableSpec>;

export type ConfigVariable = keyof typeof CONFIG_VARIABLES;

function redact(variable: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return (SECRET_VARIABLES as readonly string[]).includes(variable) ? '***' : value;
}

/**
 * Reads and validates the configuration from an environment map, once. Empty strings count as
 * unset. Throws a {@link ConfigError} listing every invalid variable at once.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): SidecarConfig {
  const issues: ConfigIssue[] = [];
  const v: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(CONFIG_VARIABLES) as [string, VariableSpec][]) {
    const raw = env[name]?.trim() === '' ? undefined : env[name];
    const input = raw ?? spec.default;
    if (input === undefined) continue;
    const parsed = spec.schema.safeParse(input);
    if (parsed.success) v[name] = parsed.data;
    else issues.push({ variable: name, value: redact(name, raw), allowed: spec.allowed });
  }
  if (v.REDIS_CLUSTER_NODES !== undefined && v.REDIS_URL !== undefined) {
    issues.push({
      variable: 'REDIS_CLUSTER_NODES',
      value: env.REDIS_CLUSTER_NODES,
      allowed: 'either REDIS_URL or REDIS_CLUSTER_NODES, not both',
    });
  }
  if (v.REDIS_CLUSTER_NODES !== undefined && (v.REDIS_POOL_SIZE as number) > 1) {
    issues.push({
      variable: 'REDIS_POOL_SIZE',
      value: env.REDIS_POOL_SIZE,
      allowed: '1 with REDIS_CLUSTER_NODES (the cluster client keeps one connection per node)',
    });
  }
  if (v.CLUSTER_NAME !== undefined && v.REDIS_URL === undefined && v.REDIS_CLUSTER_NODES === undefined) {
    issues.push({
      variable: 'CLUSTER_NAME',
      value: env.CLUSTER_NAME,
      allowed: 'set together with REDIS_URL (or REDIS_CLUSTER_NODES): cluster mode coordinates through Redis',
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const apiKeys = {
    alphavantage: v.ALPHAVANTAGE_API_KEY as string | undefined,
    twelvedata: v.TWELVEDATA_API_KEY as string | undefined,
    polygon: v.POLYGON_API_KEY as string | undefined,
  };
  const sources = v.SOURCES as SourceName[];
  const notes: string[] = [];
  const activeSources = sources.filter((s) => {
    const key = SOURCES_NEEDING_KEY[s];
    if (key && !apiKeys[key]) {
      notes.push(`source ${s} skipped: ${s.toUpperCase()}_API_KEY is not set`);
      return false;
    }
    return true;
  });
  if (activeSources.length === 0) {
    throw new ConfigError([
      {
        variable: 'SOURCES',
        value: env.SOURCES ?? CONFIG_VARIABLES.SOURCES.default,
        allowed:
          'at least one source that needs no API key (yahoo, synthetic, replay) or whose API key is set',
      },
    ]);
  }
  const sec = (name: string) => Math.round((v[name] as number) * 1000);
  return Object.freeze({
    symbols: Object.freeze(v.SYMBOLS as string[]),
    sources: Object.freeze(sources),
    activeSources: Object.freeze(activeSources),
    timeframe: v.TIMEFRAME as Timeframe,
    collectionIntervalMs: sec('COLLECTION_INTERVAL'),
    maxBarsCache: v.MAX_BARS_CACHE as number,
    batchWriteIntervalMs: sec('BATCH_WRITE_INTERVAL'),
    featureCacheTtlMs: sec('FEATURE_CACHE_TTL'),
    staleAfterMs: sec('STALE_AFTER'),
    breakerResetAfterMs: sec('BREAKER_RESET_AFTER'),
    bootstrapDays: v.BOOTSTRAP_DAYS as number,
    redisUrl: v.REDIS_URL as string | undefined,
    redisClusterNodes: v.REDIS_CLUSTER_NODES as string[] | undefined,
    redisPoolSize: v.REDIS_POOL_SIZE as number,
    redisKeyPrefix: v.REDIS_KEY_PREFIX as string,
    httpPoolSize: v.HTTP_POOL_SIZE as number,
    streamReplaySize: v.STREAM_REPLAY_SIZE as number,
    streamMaxQueue: v.STREAM_MAX_QUEUE as number,
    streamBackfillMaxBars: v.STREAM_BACKFILL_MAX_BARS as number,
    sqlitePath: v.SQLITE_PATH as string,
    historyUrl: v.HISTORY_URL as string | undefined,
    clusterName: v.CLUSTER_NAME as string | undefined,
    instanceId: (v.INSTANCE_ID as string | undefined) ?? `${hostname()}-${process.pid}`,
    leaseTtlMs: sec('LEASE_TTL'),
    port: v.PORT as number,
    host: v.HOST as string,
    apiToken: v.API_TOKEN as string | undefined,
    logLevel: v.LOG_LEVEL as LogLevel,
    logFormat: v.LOG_FORMAT as LogFormat,
    fetchConcurrency: v.FETCH_CONCURRENCY as number,
    idleGc: v.IDLE_GC as boolean,
    apiKeys: Object.freeze(apiKeys),
    baseUrls: Object.freeze({
      yahoo: v.YAHOO_BASE_URL as string | undefined,
      alphavantage: v.ALPHAVANTAGE_BASE_URL as string | undefined,
      twelvedata: v.TWELVEDATA_BASE_URL as string | undefined,
      polygon: v.POLYGON_BASE_URL as string | undefined,
      polygonWs: v.POLYGON_WS_URL as string | undefined,
    }),
    symbolMapFile: v.SYMBOL_MAP_FILE as string | undefined,
    broker: v.BROKER as string | undefined,
    nodeEnv: v.NODE_ENV as string | undefined,
    notes: Object.freeze(notes),
  });
}

/** The secret values in a configuration, for the log redactor. */
export function configSecrets(config: SidecarConfig): string[] {
  return [
    config.apiToken,
    config.apiKeys.alphavantage,
    config.apiKeys.twelvedata,
    config.apiKeys.polygon,
    urlPassword(config.historyUrl),
  ].filter((s): s is string => typeof s === 'string' && s.length > 0);
}

/** The password of a connection URL (for the log redactor), or undefined. */
function urlPassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password || undefined;
  } catch {
    return undefined;
  }
}
