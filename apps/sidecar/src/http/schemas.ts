// The JSON schemas of the HTTP API's routes: plain objects `as const`, exported, so fastify validates
// and serialises with them and a typed client can derive its types from the same objects
// (json-schema-to-ts' FromSchema, for example).
import { TIMEFRAMES } from '@pipeline/core';

export const num = { type: 'number' } as const;
export const nullableNum = { type: ['number', 'null'] } as const;
export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
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

export const statusSchema = { type: 'object', properties: { status: { type: 'string' } } } as const;

/** `/health`: the whole HealthReport (see state/health.ts), passed through as is. */
export const healthResponseSchema = { type: 'object', additionalProperties: true } as const;

export const signalsResponseSchema = {
  type: 'object',
  properties: { signals: { type: 'array', items: signalSchema }, count: num },
} as const;

export const barsQuerySchema = {
  type: 'object',
  properties: {
    timeframe: { type: 'string', enum: [...TIMEFRAMES] },
    limit: { type: 'integer', minimum: 1, maximum: 100_000 },
  },
} as const;

export const barsResponseSchema = {
  type: 'object',
  properties: {
    symbol: { type: 'string' },
    brokerSymbol: { type: 'string' },
    timeframe: { type: 'string' },
    stale: { type: 'boolean' },
    ageMs: nullableNum,
    count: num,
    bars: { type: 'array', items: barSchema },
  },
} as const;

export const featuresResponseSchema = {
  type: 'object',
  properties: {
    symbol: { type: 'string' },
    dataTs: nullableNum,
    stale: { type: 'boolean' },
    values: indicatorsSchema,
  },
} as const;
