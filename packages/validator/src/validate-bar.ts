// validate(): one live bar, judged against and added to its series' live state.
import { TIMEFRAME_MS, type Bar } from '@pipeline/core';
import { checkBar, renderIssues } from './check';
import { type ValidatorContext } from './context';
import { STATUS_NAMES } from './issue-events';
import { STATUS_CODES, type Issue } from './rules';
import { schemaProblem, schemaReject } from './schema';
import { type ValidateContext, type ValidationResult } from './types';

const NO_REF = NaN;

export function validateBar(ctx: ValidatorContext, bar: Bar, context?: ValidateContext): ValidationResult {
  const { cfg, scratch } = ctx;
  const now = ctx.clock.now();
  const problem = ctx.schemaEnabled ? schemaProblem(bar) : null;
  let issues: Issue[];
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
    issues = scratch.mask === 0 ? [] : renderIssues(scratch, cfg, bar.timeframe);
  }
  ctx.counters.count(scratch);
  const status = scratch.status;
  const out: Bar =
    status === STATUS_CODES.rejected || typeof bar !== 'object' || bar === null
      ? { ...bar, quality: 0 }
      : { ...bar, high: scratch.high, low: scratch.low, volume: scratch.volume, quality: scratch.quality };
  if (issues.length > 0) ctx.events.emitForUnknown(issues, status, bar);
  return { status: STATUS_NAMES[status] ?? 'rejected', quality: scratch.quality, issues, bar: out };
}
