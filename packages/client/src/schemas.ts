// The JSON schemas of the sidecar's HTTP API: plain objects `as const`. The sidecar validates and
// serialises with these very objects (its http/schemas.ts re-exports them) and this package derives
// its TypeScript types from them with json-schema-to-ts' FromSchema, so server and client cannot drift.
import { TIMEFRAMES } from '@pipeline/core';

export const num = { type: 'number' } as const;
export const nullableNum = { type: ['number', 'null'] } as const;

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        suggestions: { type: 'array', items: { type: 'string' } },
      },
    },
  },
} as const;

export const indicatorsSchema = { type: 'object', additionalProperties: nullableNum } as const;

export const signalSchema = {
  type: 'object',
  required: [
    'symbol',
    'brokerSymbol',
    'direction',
    'confidence',
    'reasons',
    'indicators',
    'price',
    'dataTs',
    'generatedAt',
    'ageMs',
    'stale',
  ],
  properties: {
    symbol: { type: 'string' },
    brokerSymbol: { type: 'string' },
    direction: { type: 'string', enum: ['long', 'short', 'flat'] },
    confidence: num,
    rawConfidence: num,
    reasons: { type: 'array', items: { type: 'string' } },
    indicators: indicatorsSchema,
    price: num,
    stop: nullableNum,
    target: nullableNum,
    strategy: { type: 'string' },
    quality: num,
    dataTs: num,
    dataTime: { type: 'string' },
    generatedAt: num,
    ageMs: num,
    stale: { type: 'boolean' },
  },
} as const;

export const barSchema = {
  type: 'object',
  required: ['symbol', 'timeframe', 'ts', 'open', 'high', 'low', 'close', 'volume', 'final'],
  properties: {
    symbol: { type: 'string' },
    timeframe: { type: 'string' },
    ts: num,
    open: num,
    high: num,
    low: num,
    close: num,
    volume: num,
    source: { type: 'string' },
    final: { type: 'boolean' },
    quality: num,
  },
} as const;

export const symbolParams = {
  type: 'object',
  required: ['symbol'],
  properties: { symbol: { type: 'string', minLength: 1, maxLength: 40 } },
} as const;

export const statusSchema = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string' } },
} as const;

/** `/health`: the sidecar's whole health report, passed through as is (its main fields named here). */
export const healthResponseSchema = {
  type: 'object',
  required: ['status'],
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded', 'down'] },
  },
  additionalProperties: true,
} as const;

export const signalsResponseSchema = {
  type: 'object',
  required: ['signals', 'count'],
  properties: { signals: { type: 'array', items: signalSchema }, count: num },
} as const;

export const barsQuerySchema = {
  type: 'object',
  properties: {
    timeframe: { type: 'string', enum: [...TIMEFRAMES] },
    limit: { type: 'integer', minimum: 1, maximum: 100_000 },
    from: { type: 'integer', minimum: 0, description: 'earliest bar open time, epoch ms (inclusive)' },
    to: { type: 'integer', minimum: 0, description: 'latest bar open time, epoch ms (exclusive)' },
  },
} as const;

export const barsResponseSchema = {
  type: 'object',
  required: ['symbol', 'timeframe', 'count', 'bars', 'limit', 'clipped'],
  properties: {
    symbol: { type: 'string' },
    brokerSymbol: { type: 'string' },
    timeframe: { type: 'string' },
    stale: { type: 'boolean' },
    ageMs: nullableNum,
    count: num,
    limit: {
      type: 'integer',
      description: 'the limit applied: the one asked for, or less when clipped',
    },
    clipped: {
      type: 'boolean',
      description: 'true when the limit asked for was above what the server keeps and was lowered',
    },
    bars: { type: 'array', items: barSchema },
  },
} as const;

export const featuresResponseSchema = {
  type: 'object',
  required: ['symbol', 'values', 'stale'],
  properties: {
    symbol: { type: 'string' },
    dataTs: nullableNum,
    stale: { type: 'boolean' },
    values: indicatorsSchema,
  },
} as const;

/** `/cluster`: members, their symbols and lease expiries (cluster mode), passed through as is. */
export const clusterResponseSchema = { type: 'object', additionalProperties: true } as const;

/** `/metrics`: Prometheus text exposition format. */
export const metricsTextResponseSchema = {
  description: 'Prometheus text exposition format',
  content: { 'text/plain': { schema: { type: 'string' } } },
} as const;

/** `/metrics/json`: the same metrics as prom-client's JSON (one object per metric). */
export const metricsJsonResponseSchema = {
  type: 'array',
  items: { type: 'object', additionalProperties: true },
} as const;

/** Kinds of push-stream events. */
export const STREAM_KINDS = ['bars', 'features', 'signals', 'health'] as const;

export const streamQuerySchema = {
  type: 'object',
  properties: {
    symbols: { type: 'string', description: 'comma-separated symbols; absent: every symbol' },
    kinds: { type: 'string', description: 'comma-separated of bars,features,signals,health; absent: all' },
    lastEventId: { type: 'string', description: 'resume after this event id (or the Last-Event-ID header)' },
    token: { type: 'string', description: 'the API token, for clients that cannot set headers' },
  },
} as const;

/**
 * One push-stream event (SSE `data:` / one WebSocket text message). `id` increases across kinds (and
 * across restarts of one sidecar) and `floor(id / 1000)` is its publish time in ms; finished bars a
 * resume gets from the history store carry the resume id. `reset` tells the client it missed events
 * the server cannot send (bars past its backfill limit, other kinds older than the replay ring) and
 * must refetch (`/bars`, `/signals`, ...); `error` precedes a server close.
 */
export const streamEventSchema = {
  type: 'object',
  required: ['id', 'kind'],
  properties: {
    id: { type: 'integer' },
    kind: { type: 'string', enum: [...STREAM_KINDS, 'reset', 'error'] },
    symbol: { type: 'string' },
    data: {},
  },
} as const;
