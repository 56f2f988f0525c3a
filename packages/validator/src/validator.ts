import {
  TIMEFRAME_MS,
  isTimeframe,
  type Bar,
  type SourceName,
  type Timeframe,
  type Disposable,
} from '@pipeline/core';
import { CheckConfig, Scratch, checkBar, renderIssues } from './check';
import { SeriesShapeError } from './errors';
import { resolveValidatorOptions, type ResolvedValidatorOptions, type ValidatorOptions } from './options';
import {
  RULES,
  RULE_BITS,
  RULE_ORDER,
  STATUSES,
  STATUS_CODES,
  type Issue,
  type RuleName,
  type StatusCode,
  type ValidationStatus,
} from './rules';
import { SeriesState } from './state';

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

export type { Disposable } from '@pipeline/core';

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

const STATUS_NAMES: readonly ValidationStatus[] = [STATUSES.accepted, STATUSES.repaired, STATUSES.rejected];
const NO_REF = NaN;
const SCHEMA_BIT = RULE_BITS.schema;

function schemaProblem(
  bar: Partial<Bar> | null | undefined,
): { field: Issue['field']; message: string } | null {
  if (typeof bar !== 'object' || bar === null)
    return { field: undefined, message: `bar must be an object, got ${String(bar)}` };
  if (typeof bar.symbol !== 'string' || bar.symbol.length === 0) {
    return {
      field: 'symbol',
      message: `symbol must be a non-empty string, got ${JSON.stringify(bar.symbol)}`,
    };
  }
  if (!isTimeframe(bar.timeframe))
    return { field: 'timeframe', message: `unknown timeframe ${JSON.stringify(bar.timeframe)}` };
  if (typeof bar.final !== 'boolean')
    return { field: 'final', message: `final must be a boolean, got ${JSON.stringify(bar.final)}` };
  return null;
}

function refTs(cols: BarColumns | null, rows: readonly Bar[] | null, j: number): number {
  return cols ? cols.ts[j] : rows![j].ts;
}

/** Creates a validator. Bad options throw an `OptionsError` quoting the value. */
export function createValidator(options?: Partial<ValidatorOptions>): Validator {
  const opts = resolveValidatorOptions(options);
  const cfg = new CheckConfig(opts);
  const clock = opts.clock;
  const states = new Map<string, SeriesState>();
  const listeners = new Set<(event: IssueEvent) => void>();
  const scratch = new Scratch();

  let bars = 0;
  const byStatus = [0, 0, 0];
  const flagged = new Float64Array(RULE_ORDER.length);
  const repairedBy = new Float64Array(RULE_ORDER.length);
  const rejectedBy = new Float64Array(RULE_ORDER.length);
  const ruleIndex = Object.fromEntries(RULE_ORDER.map((r, i) => [r, i])) as Record<RuleName, number>;
  const schemaEnabled = (cfg.enabled & SCHEMA_BIT) !== 0;

  const stateFor = (
    map: Map<string, SeriesState>,
    symbol: string,
    timeframe: string,
    shared: boolean,
  ): SeriesState => {
    const key = `${symbol}|${timeframe}`;
    let st = map.get(key);
    if (st !== undefined) {
      if (shared) {
        // Map order is the LRU order: re-insert on use, evict from the front.
        map.delete(key);
        map.set(key, st);
      }
      return st;
    }
    st = new SeriesState(cfg.window);
    map.set(key, st);
    if (shared && map.size > opts.maxSeries) map.delete(map.keys().next().value!);
    return st;
  };

  const count = (out: Scratch): void => {
    bars++;
    byStatus[out.status]++;
    let mask = out.mask;
    if (mask === 0) return;
    for (let i = 0; mask !== 0; i++, mask >>>= 1) {
      if ((mask & 1) === 0) continue;
      const rule = RULE_ORDER[i];
      if (rule === out.rejectedBy) rejectedBy[i]++;
      else if (rule === RULES.ohlc || rule === RULES.volume) repairedBy[i]++;
      else flagged[i]++;
    }
  };

  const emit = (
    issues: Issue[],
    status: StatusCode,
    symbol: string,
    timeframe: string,
    ts: number,
    source: string,
  ): void => {
    if (listeners.size === 0) return;
    for (const issue of issues) {
      const event: IssueEvent = { issue, status: STATUS_NAMES[status], symbol, timeframe, ts, source };
      for (const listener of listeners) {
        try {
          listener(event);
        } catch {
          // A metrics hook must not break validation; the library has no logger to report it to.
        }
      }
    }
  };

  const schemaReject = (field: Issue['field'], message: string): Issue[] => {
    scratch.mask = SCHEMA_BIT;
    scratch.status = STATUS_CODES.rejected;
    scratch.rejectedBy = RULES.schema;
    scratch.quality = 0;
    const issue: Issue = { rule: RULES.schema, severity: 'error', message };
    if (field !== undefined) issue.field = field;
    return [issue];
  };

  const validate = (bar: Bar, context?: ValidateContext): ValidationResult => {
    const now = clock.now();
    const problem = schemaEnabled ? schemaProblem(bar) : null;
    let issues: Issue[];
    if (problem !== null) {
      issues = schemaReject(problem.field, problem.message);
    } else {
      const ref = context?.reference;
      const tfMs = TIMEFRAME_MS[bar.timeframe] ?? NaN;
      checkBar(
        cfg,
        stateFor(states, bar.symbol, bar.timeframe, true),
        tfMs,
        bar.ts,
        bar.open,
        bar.high,
        bar.low,
        bar.close,
        bar.volume,
        bar.final,
        ref ? ref.open : NO_REF,
        ref ? ref.high : NO_REF,
        ref ? ref.low : NO_REF,
        ref && ref.ts === bar.ts ? ref.close : NO_REF,
        now,
        scratch,
      );
      issues = scratch.mask === 0 ? [] : renderIssues(scratch, cfg, bar.timeframe);
    }
    count(scratch);
    const status = scratch.status;
    const out: Bar =
      status === STATUS_CODES.rejected || typeof bar !== 'object' || bar === null
        ? { ...bar, quality: 0 }
        : { ...bar, high: scratch.high, low: scratch.low, volume: scratch.volume, quality: scratch.quality };
    if (issues.length > 0) {
      const b = (bar ?? {}) as Partial<Bar>;
      emit(issues, status, String(b.symbol), String(b.timeframe), Number(b.ts), String(b.source));
    }
    return { status: STATUS_NAMES[status], quality: scratch.quality, issues, bar: out };
  };

  const validateSeries = (
    series: readonly Bar[] | BarColumns,
    seriesOptions?: SeriesOptions,
  ): SeriesResult => {
    const now = clock.now();
    const shared = seriesOptions?.state === 'shared';
    if (seriesOptions?.state !== undefined && !shared && seriesOptions.state !== 'fresh') {
      throw new SeriesShapeError(
        'state',
        `option "state" must be "fresh" or "shared", got ${JSON.stringify(seriesOptions.state)}`,
      );
    }
    const map = shared ? states : new Map<string, SeriesState>();
    const isRows = Array.isArray(series);
    const cols = isRows ? null : (series as BarColumns);
    const rows = isRows ? (series as readonly Bar[]) : null;
    let n: number;
    if (cols !== null) {
      if (typeof cols !== 'object')
        throw new SeriesShapeError('series', `expected an array of bars or columns, got ${String(cols)}`);
      n = cols.ts?.length;
      for (const field of ['ts', 'open', 'high', 'low', 'close', 'volume'] as const) {
        if (cols[field] === undefined || cols[field].length !== n) {
          throw new SeriesShapeError(
            field,
            `column "${field}" has length ${cols[field]?.length} but "ts" has ${n}`,
          );
        }
      }
      if (cols.final !== undefined && cols.final.length !== n) {
        throw new SeriesShapeError(
          'final',
          `column "final" has length ${cols.final.length} but "ts" has ${n}`,
        );
      }
      if (typeof cols.symbol !== 'string' || cols.symbol.length === 0) {
        throw new SeriesShapeError(
          'symbol',
          `symbol must be a non-empty string, got ${JSON.stringify(cols.symbol)}`,
        );
      }
      if (!isTimeframe(cols.timeframe))
        throw new SeriesShapeError('timeframe', `unknown timeframe ${JSON.stringify(cols.timeframe)}`);
    } else {
      n = rows!.length;
    }

    // Reference bars, matched by ts with a forward-only cursor.
    const refInput = seriesOptions?.reference;
    const refCols = refInput === undefined ? null : Array.isArray(refInput) ? null : (refInput as BarColumns);
    const refRows = refInput !== undefined && Array.isArray(refInput) ? (refInput as readonly Bar[]) : null;
    const refLen = refCols ? refCols.ts.length : refRows ? refRows.length : 0;
    let refPos = 0;

    const status = new Uint8Array(n);
    const quality = new Float64Array(n);
    const rules = new Uint32Array(n);
    const repairs: SeriesRepair[] = [];
    const issuesOut: Array<{ index: number; issues: Issue[] }> = [];

    let st: SeriesState | null = null;
    let tfMs = NaN;
    let lastSymbol: string | undefined;
    let lastTimeframe: string | undefined;
    if (cols !== null) {
      st = stateFor(map, cols.symbol, cols.timeframe, shared);
      tfMs = TIMEFRAME_MS[cols.timeframe];
    }
    const finalCol = cols?.final;
    const source = cols?.source ?? 'replay';

    for (let i = 0; i < n; i++) {
      let ts: number, o: number, h: number, l: number, c: number, final: boolean;
      let v: unknown;
      let symbol: string, timeframe: string;
      if (cols !== null) {
        ts = cols.ts[i]!;
        o = cols.open[i]!;
        h = cols.high[i]!;
        l = cols.low[i]!;
        c = cols.close[i]!;
        v = cols.volume[i];
        final = finalCol === undefined ? true : Boolean(finalCol[i]);
        symbol = cols.symbol;
        timeframe = cols.timeframe;
      } else {
        const bar = rows![i];
        const problem = schemaEnabled ? schemaProblem(bar) : null;
        if (problem !== null) {
          const issues = schemaReject(problem.field, problem.message);
          count(scratch);
          status[i] = STATUS_CODES.rejected;
          rules[i] = SCHEMA_BIT;
          issuesOut.push({ index: i, issues });
          const b = (bar ?? {}) as Partial<Bar>;
          emit(
            issues,
            STATUS_CODES.rejected,
            String(b.symbol),
            String(b.timeframe),
            Number(b.ts),
            String(b.source),
          );
          continue;
        }
        ts = bar.ts;
        o = bar.open;
        h = bar.high;
        l = bar.low;
        c = bar.close;
        v = bar.volume;
        final = bar.final;
        symbol = bar.symbol;
        timeframe = bar.timeframe;
        if (symbol !== lastSymbol || timeframe !== lastTimeframe) {
          st = stateFor(map, symbol, timeframe, shared);
          tfMs = TIMEFRAME_MS[bar.timeframe];
          lastSymbol = symbol;
          lastTimeframe = timeframe;
        }
      }
      let ro = NO_REF,
        rh = NO_REF,
        rl = NO_REF,
        rc = NO_REF;
      if (refLen > 0) {
        while (refPos < refLen && refTs(refCols, refRows, refPos) < ts) refPos++;
        if (refPos < refLen && refTs(refCols, refRows, refPos) === ts) {
          if (refCols) {
            ro = refCols.open[refPos]!;
            rh = refCols.high[refPos]!;
            rl = refCols.low[refPos]!;
            rc = refCols.close[refPos]!;
          } else {
            const r = refRows![refPos];
            ro = r.open;
            rh = r.high;
            rl = r.low;
            rc = r.close;
          }
        }
      }
      checkBar(cfg, st, tfMs, ts, o, h, l, c, v, final, ro, rh, rl, rc, now, scratch);
      count(scratch);
      status[i] = scratch.status;
      quality[i] = scratch.quality;
      rules[i] = scratch.mask;
      if (scratch.status === STATUS_CODES.repaired) {
        repairs.push({ index: i, high: scratch.high, low: scratch.low, volume: scratch.volume });
      }
      if (scratch.mask !== 0) {
        const issues = renderIssues(scratch, cfg, timeframe);
        issuesOut.push({ index: i, issues });
        emit(issues, scratch.status, symbol, timeframe, ts, cols ? source : rows![i].source);
      }
    }
    let acc = 0,
      rep = 0,
      rej = 0;
    for (let i = 0; i < n; i++) {
      const s = status[i];
      if (s === 0) acc++;
      else if (s === 1) rep++;
      else rej++;
    }
    return {
      length: n,
      status,
      quality,
      rules,
      repairs,
      issues: issuesOut,
      accepted: acc,
      repaired: rep,
      rejected: rej,
    };
  };

  return {
    options: opts,
    validate,
    validateSeries,
    counters(): ValidatorCounters {
      const perRule = {} as Record<RuleName, RuleCounter>;
      // Rules run in order and stop at the first rejection, so a rule saw every bar not rejected before it.
      let reached = bars;
      for (const rule of RULE_ORDER) {
        const i = ruleIndex[rule];
        const enabled = (cfg.enabled & RULE_BITS[rule]) !== 0;
        const seen = enabled ? reached : 0;
        perRule[rule] = {
          accepted: seen - repairedBy[i] - rejectedBy[i],
          flagged: flagged[i],
          repaired: repairedBy[i],
          rejected: rejectedBy[i],
        };
        reached -= rejectedBy[i];
      }
      return { bars, accepted: byStatus[0], repaired: byStatus[1], rejected: byStatus[2], rules: perRule };
    },
    resetCounters(): void {
      bars = 0;
      byStatus.fill(0);
      flagged.fill(0);
      repairedBy.fill(0);
      rejectedBy.fill(0);
    },
    staleness(symbol: string, timeframe: Timeframe): Staleness | null {
      const st = states.get(`${symbol}|${timeframe}`);
      if (st === undefined || Number.isNaN(st.lastTs)) return null;
      const ageMs = clock.now() - st.lastUpdateAt;
      return { lastTs: st.lastTs, lastUpdateAt: st.lastUpdateAt, ageMs, stale: ageMs > cfg.staleAfterMs };
    },
    reset(symbol?: string, timeframe?: Timeframe): void {
      if (symbol === undefined) states.clear();
      else if (timeframe === undefined) {
        for (const key of [...states.keys()]) if (key.startsWith(`${symbol}|`)) states.delete(key);
      } else states.delete(`${symbol}|${timeframe}`);
    },
    get seriesCount() {
      return states.size;
    },
    onIssue(listener: (event: IssueEvent) => void): Disposable {
      const wrapped = (e: IssueEvent): void => listener(e);
      listeners.add(wrapped);
      return { dispose: () => void listeners.delete(wrapped) };
    },
  };
}
