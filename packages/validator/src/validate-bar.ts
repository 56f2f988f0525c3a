// validate() and keep(): one live bar, judged against and added to its series' live state.
import { TIMEFRAME_MS, type Bar } from '@pipeline/core';
import { checkBar, renderIssues } from './check';
import { type ValidatorContext } from './context';
import { STATUS_NAMES } from './issue-events';
import { STATUS_CODES, type Issue } from './rules';
import { schemaProblem, schemaReject } from './schema';
import { type ValidateContext, type ValidationResult } from './types';

const NO_REF = NaN;

/**
 * Runs the rules over `bar` into `ctx.scratch` and counts the verdict. Returns the issues, or null for a
 * clean bar. The caller reads the scratch verdict before it hands the issues to the listeners (a
 * listener may validate another bar, which overwrites the scratch).
 */
function judge(ctx: ValidatorContext, bar: Bar, context: ValidateContext | undefined): Issue[] | null {
  const { cfg, scratch } = ctx;
  const now = ctx.clock.now();
  const problem = ctx.schemaEnabled ? schemaProblem(bar) : null;
  let issues: Issue[] | null;
  if (problem !== null) {
    issues = schemaReject(scratch, problem.field, problem.message);
  } else {
    const ref = context?.reference;
    const tfMs = TIMEFRAME_MS[bar.timeframe] ?? NaN;
    checkBar(
      cfg,
      ctx.states.live(bar.symbol, bar.timeframe),
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
    issues = scratch.mask === 0 ? null : renderIssues(scratch, cfg, bar.timeframe);
  }
  ctx.counters.count(scratch);
  return issues;
}

function rejectedOrNotABar(status: number, bar: Bar): boolean {
  return status === STATUS_CODES.rejected || typeof bar !== 'object' || bar === null;
}

/** `bar` with the scratch verdict's repairs (high, low, volume) and score applied: a new object. */
function repaired(ctx: ValidatorContext, bar: Bar): Bar {
  const { scratch } = ctx;
  return { ...bar, high: scratch.high, low: scratch.low, volume: scratch.volume, quality: scratch.quality };
}

export function validateBar(ctx: ValidatorContext, bar: Bar, context?: ValidateContext): ValidationResult {
  const issues = judge(ctx, bar, context) ?? [];
  const { scratch } = ctx;
  const status = scratch.status;
  const out: Bar = rejectedOrNotABar(status, bar) ? { ...bar, quality: 0 } : repaired(ctx, bar);
  if (issues.length > 0) ctx.events.emitForUnknown(issues, status, bar);
  return { status: STATUS_NAMES[status] ?? 'rejected', quality: scratch.quality, issues, bar: out };
}

/**
 * keep(): the same verdict, counters and events as validate(), without the result object: null for a
 * rejected bar, `bar` itself when the verdict changes none of its values (no repair, and its `quality`
 * already equals the score; `Object.is`, so a -0 volume is not taken for 0), else a repaired, scored
 * copy as validate() returns.
 */
export function keepBar(ctx: ValidatorContext, bar: Bar, context?: ValidateContext): Bar | null {
  const issues = judge(ctx, bar, context);
  const { scratch } = ctx;
  const status = scratch.status;
  let out: Bar | null;
  if (rejectedOrNotABar(status, bar)) out = null;
  else if (
    Object.is(scratch.high, bar.high) &&
    Object.is(scratch.low, bar.low) &&
    Object.is(scratch.volume, bar.volume) &&
    Object.is(scratch.quality, bar.quality)
  )
    out = bar;
  else out = repaired(ctx, bar);
  if (issues !== null && issues.length > 0) ctx.events.emitForUnknown(issues, status, bar);
  return out;
}
