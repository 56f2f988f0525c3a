/**
 * The three states of a source's circuit.
 *
 * - `closed`: calls go through; consecutive counted failures are tallied.
 * - `open`: calls are refused without touching the source until the probe time.
 * - `half_open`: one probe call is in flight; its outcome closes or re-opens the circuit.
 */
export const BREAKER_STATES = {
  closed: 'closed',
  open: 'open',
  half_open: 'half_open',
} as const;
export type BreakerState = (typeof BREAKER_STATES)[keyof typeof BREAKER_STATES];

export function isBreakerState(value: unknown): value is BreakerState {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(BREAKER_STATES, value);
}

/** How retry delays are randomised (cockatiel's exponential backoff generators). */
export const JITTER_MODES = {
  /** Polly's decorrelated jitter: spreads retries best; cockatiel's default. */
  decorrelated: 'decorrelated',
  /** Uniform in [0, exponential delay). */
  full: 'full',
  /** Uniform in [delay / 2, delay). */
  half: 'half',
  /** Plain exponential `baseDelayMs * 2^n`, capped: deterministic, for tests and reasoning. */
  none: 'none',
} as const;
export type JitterMode = (typeof JITTER_MODES)[keyof typeof JITTER_MODES];
