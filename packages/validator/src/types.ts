// The public shapes of the validator: results, series input and output, counters, events.
import { type Bar, type Disposable, type SourceName, type Timeframe } from '@pipeline/core';
import { type ResolvedValidatorOptions } from './options';
import { type Issue, type RuleName, type ValidationStatus } from './rules';

/** Verdict on one bar. */
export interface ValidationResult {
  status: ValidationStatus;
  /** 0..1, see the README's score formula; 0 when rejected. */
  quality: number;
  /** Empty for a clean bar. */
  issues: Issue[];
  /** A copy of the bar with `quality` set and repairs applied (for a rejected bar: unrepaired, quality 0). */
  bar: Bar;
}

/** Extra input for {@link Validator.validate}. */
export interface ValidateContext {
  /**
   * The same bar (symbol, timeframe, ts) from another source, for the disagreement rule; ignored when its
   * `ts` differs.
   * @default undefined
   */
  reference?: Pick<Bar, 'ts' | 'open' | 'high' | 'low' | 'close'> | null;
}

/** A series as columns: one symbol and timeframe, one array per field (typed arrays welcome; NaN = missing). */
export interface BarColumns {
  symbol: string;
  timeframe: Timeframe;
  /**
   * Source named in the events handed to listeners.
   * @default 'replay'
   */
  source?: SourceName;
  ts: ArrayLike<number>;
  open: ArrayLike<number>;
  high: ArrayLike<number>;
  low: ArrayLike<number>;
  close: ArrayLike<number>;
  volume: ArrayLike<number>;
  /**
   * Per bar: true/1 final, false/0 forming.
   * @default every bar final
   */
  final?: ArrayLike<boolean | number>;
}

export interface SeriesOptions {
  /**
   * Bars of another source for the disagreement rule, matched by `ts` (both ascending).
   * @default undefined
   */
  reference?: readonly Bar[] | BarColumns;
  /**
   * `fresh`: judge the series from a blank state, leaving the live per-series state alone (history, backfill);
   * `shared`: continue from and update the validator's live state, exactly like calling `validate` per bar.
   * @default 'fresh'
   */
  state?: 'fresh' | 'shared';
}

/** High, low and volume of one repaired bar of a series, after the repair. */
export interface SeriesRepair {
  index: number;
  high: number;
  low: number;
  volume: number;
}

/** Verdicts on a series, as columns. */
export interface SeriesResult {
  length: number;
  /** Per bar: 0 accepted, 1 repaired, 2 rejected ({@link STATUS_CODES}). */
  status: Uint8Array;
  quality: Float64Array;
  /** Per bar: bit mask of the rules that raised an issue ({@link RULE_BITS}). */
  rules: Uint32Array;
  /**
   * The repaired values of the bars with status repaired (sparse: repairs are rare, and three full columns
   * would cost 24 bytes per bar of allocation on every call).
   */
  repairs: SeriesRepair[];
  /** The issues of the bars that have any, with their index. */
  issues: Array<{ index: number; issues: Issue[] }>;
  accepted: number;
  repaired: number;
  rejected: number;
}

/** Counts of one rule since creation or `resetCounters()`. */
export interface RuleCounter {
  /** Bars that reached this rule and were not repaired or rejected by it (flagged ones included). */
  accepted: number;
  /** Bars this rule kept with a warning (spike, stale, flatline, disagreement, final-bar revision). */
  flagged: number;
  repaired: number;
  rejected: number;
}

export interface ValidatorCounters {
  bars: number;
  accepted: number;
  repaired: number;
  rejected: number;
  rules: Record<RuleName, RuleCounter>;
}

/** Passed to `onIssue` listeners. */
export interface IssueEvent {
  issue: Issue;
  status: ValidationStatus;
  symbol: string;
  timeframe: string;
  ts: number;
  source: string;
}

/** Age of one series' data, for health endpoints. */
export interface Staleness {
  /** Open time of the newest kept bar. */
  lastTs: number;
  /** Clock time when the series last got a kept update (epoch ms). */
  lastUpdateAt: number;
  /** `now - lastUpdateAt` (ms). */
  ageMs: number;
  /** `ageMs > rules.stale.staleAfterMs`. */
  stale: boolean;
}

export interface Validator {
  readonly options: ResolvedValidatorOptions;
  /** Judges one live bar and updates its series state. Never throws on bad data. */
  validate(bar: Bar, context?: ValidateContext): ValidationResult;
  /**
   * {@link Validator.validate} without the result object, for hot paths that only keep or drop the bar:
   * the same verdict, state update, counters and events. Returns null when the bar is rejected; `bar`
   * itself when the verdict changes none of its values (no repair, and its `quality` already equals the
   * score, as for a clean bar a source delivered with quality 1); otherwise a copy with the repairs
   * applied and `quality` set, as `validate(bar).bar`. Never changes its input; a caller that keeps the
   * returned bar shares it with whoever else holds the input, so neither may change it.
   */
  keep(bar: Bar, context?: ValidateContext): Bar | null;
  /** Judges many bars in one pass, without allocating per clean bar. */
  validateSeries(series: readonly Bar[] | BarColumns, options?: SeriesOptions): SeriesResult;
  counters(): ValidatorCounters;
  resetCounters(): void;
  /** Age of a series' data, or null when the validator has kept no bar of it. */
  staleness(symbol: string, timeframe: Timeframe): Staleness | null;
  /** Forgets the state of one series, or of all when called without arguments. */
  reset(symbol?: string, timeframe?: Timeframe): void;
  /** Number of series with state. */
  readonly seriesCount: number;
  /** Called for every issue raised (also from `validateSeries`); a throwing listener is ignored. */
  onIssue(listener: (event: IssueEvent) => void): Disposable;
}
