/**
 * The validator's rules, in the order they run. A rule that rejects a bar stops the rules after it (a bar
 * whose prices are NaN has no meaningful spike or disagreement).
 */
export const RULES = {
  /** `symbol` is a non-empty string, `timeframe` a known timeframe, `final` a boolean. */
  schema: 'schema',
  /** `ts`, `open`, `high`, `low`, `close` are finite numbers. */
  nonFinite: 'nonFinite',
  /** Prices are > 0. */
  nonPositive: 'nonPositive',
  /** `low <= open, close <= high`; a tiny violation is repaired by widening high/low. */
  ohlc: 'ohlc',
  /** `volume` is finite and >= 0; a missing volume becomes 0 (repaired). */
  volume: 'volume',
  /** `ts` is aligned to the timeframe (UTC). */
  misaligned: 'misaligned',
  /** `ts` is not later than now plus a tolerance. */
  future: 'future',
  /** Within a (symbol, timeframe) series, `ts` never goes back; no forming update after the final bar. */
  order: 'order',
  /** An exact repeat of a final bar is a duplicate; a changed final bar is a revision. */
  duplicate: 'duplicate',
  /** |log return| of the close above k rolling sigmas. */
  spike: 'spike',
  /** A forming bar whose period ended more than `staleAfterMs` ago. */
  stale: 'stale',
  /** The close unchanged for too many consecutive updates. */
  flatline: 'flatline',
  /** The bar differs from another source's bar for the same period by more than a tolerance. */
  disagreement: 'disagreement',
} as const;
export type RuleName = (typeof RULES)[keyof typeof RULES];

/** Rules in evaluation order. */
export const RULE_ORDER: readonly RuleName[] = Object.freeze(Object.values(RULES));

/** Bit of each rule in a series result's `rules` mask (`mask & RULE_BITS.spike`). */
export const RULE_BITS: Readonly<Record<RuleName, number>> = Object.freeze(
  Object.fromEntries(RULE_ORDER.map((rule, i) => [rule, 1 << i])) as Record<RuleName, number>,
);

/** Rule names whose bit is set in `mask`, in evaluation order. */
export function rulesInMask(mask: number): RuleName[] {
  return RULE_ORDER.filter((rule) => (mask & RULE_BITS[rule]) !== 0);
}

export const SEVERITIES = {
  /** Nothing wrong with the data; the bar was dropped because it adds nothing (exact duplicate). */
  info: 'info',
  /** The bar was kept (repaired or flagged) and its quality lowered. */
  warning: 'warning',
  /** The bar was rejected. */
  error: 'error',
} as const;
export type Severity = (typeof SEVERITIES)[keyof typeof SEVERITIES];

export const STATUSES = {
  accepted: 'accepted',
  repaired: 'repaired',
  rejected: 'rejected',
} as const;
export type ValidationStatus = (typeof STATUSES)[keyof typeof STATUSES];

/** Numeric status codes used in series results (`SeriesResult.status`). */
export const STATUS_CODES = { accepted: 0, repaired: 1, rejected: 2 } as const;
export type StatusCode = (typeof STATUS_CODES)[keyof typeof STATUS_CODES];

/** One problem found with a bar. */
export interface Issue {
  rule: RuleName;
  severity: Severity;
  message: string;
  /** The bar field concerned, when one field is to blame. */
  field?: 'symbol' | 'timeframe' | 'final' | 'ts' | 'open' | 'high' | 'low' | 'close' | 'volume';
}
