// TypeScript types of the API's answers, derived from the schemas the server validates with.
import { type FromSchema } from 'json-schema-to-ts';
import {
  type barSchema,
  type barsResponseSchema,
  type errorSchema,
  type featuresResponseSchema,
  type healthResponseSchema,
  type signalSchema,
  type signalsResponseSchema,
  type STREAM_KINDS,
} from './schemas';

export type Signal = FromSchema<typeof signalSchema>;
export type ApiBar = FromSchema<typeof barSchema>;
export type SignalsResponse = FromSchema<typeof signalsResponseSchema>;
export type BarsResponse = FromSchema<typeof barsResponseSchema>;
export type FeaturesResponse = FromSchema<typeof featuresResponseSchema>;
export type HealthResponse = FromSchema<typeof healthResponseSchema>;
export type ErrorResponse = FromSchema<typeof errorSchema>;
export type ClusterResponse = Record<string, unknown>;

/** A push-stream kind a client can subscribe to. */
export type StreamKind = (typeof STREAM_KINDS)[number];

/** One push-stream event as the client yields it. */
export type StreamEvent =
  | { id: number; kind: 'bars'; symbol: string; data: ApiBar }
  | { id: number; kind: 'features'; symbol: string; data: FeaturesResponse }
  | { id: number; kind: 'signals'; symbol: string; data: Signal }
  | { id: number; kind: 'health'; data: HealthChange }
  /**
   * Events were missed that the server cannot send (bars past its backfill limit, other kinds older
   * than its replay ring; `reason` says which): refetch the named kinds.
   */
  | { id: number; kind: 'reset'; data: { kinds: StreamKind[]; reason: string } };

/** A health-change event: the overall status or a source's breaker state changed. */
export interface HealthChange {
  status: 'ok' | 'degraded' | 'down';
  previous: 'ok' | 'degraded' | 'down' | null;
  breakers: Record<string, string>;
  changed: string[];
}
