// createValidator composes the stages, each in its own file:
//   context.ts          what the stages share (options, rule config, scratch verdict)
//   schema.ts           the schema rule, before any other
//   check.ts            the rules over one bar (ohlc, volume, future, duplicate, spike, stale, ...)
//   series-states.ts    per-series state, LRU-bounded
//   validate-bar.ts     validate() and keep(): one live bar
//   validate-series.ts  validateSeries(): many bars into columns (series-input.ts checks the input)
//   counters.ts         counts per status and rule
//   issue-events.ts     onIssue on core's emitter
import { type Timeframe } from '@pipeline/core';
import { createValidatorContext } from './context';
import { resolveValidatorOptions, type ValidatorOptions } from './options';
import { type Staleness, type Validator } from './types';
import { keepBar, validateBar } from './validate-bar';
import { validateSeriesIn } from './validate-series';

export type { Disposable } from '@pipeline/core';
export type {
  Validator,
  ValidationResult,
  ValidateContext,
  BarColumns,
  SeriesOptions,
  SeriesResult,
  SeriesRepair,
  RuleCounter,
  ValidatorCounters,
  IssueEvent,
  Staleness,
} from './types';

/** Creates a validator. Bad options throw an `OptionsError` quoting the value. */
export function createValidator(options?: Partial<ValidatorOptions>): Validator {
  const ctx = createValidatorContext(resolveValidatorOptions(options));
  const { states, counters, clock, cfg } = ctx;
  return {
    options: ctx.opts,
    validate: (bar, context) => validateBar(ctx, bar, context),
    keep: (bar, context) => keepBar(ctx, bar, context),
    validateSeries: (series, seriesOptions) => validateSeriesIn(ctx, series, seriesOptions),
    counters: () => counters.snapshot(),
    resetCounters: () => counters.reset(),
    staleness(symbol: string, timeframe: Timeframe): Staleness | null {
      const st = states.get(symbol, timeframe);
      if (st === undefined || Number.isNaN(st.lastTs)) return null;
      const ageMs = clock.now() - st.lastUpdateAt;
      return { lastTs: st.lastTs, lastUpdateAt: st.lastUpdateAt, ageMs, stale: ageMs > cfg.staleAfterMs };
    },
    reset: (symbol, timeframe) => states.reset(symbol, timeframe),
    get seriesCount() {
      return states.size;
    },
    onIssue: ctx.events.emitter.on,
  };
}
