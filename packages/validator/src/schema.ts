// The schema rule: a bar that is not a bar (no object, empty symbol, unknown timeframe, `final` not a
// boolean) is rejected before any other rule runs.
import { isTimeframe, redactText, type Bar } from '@pipeline/core';
import { type Scratch } from './check';
import { RULES, RULE_BITS, STATUS_CODES, type Issue } from './rules';

export const SCHEMA_BIT = RULE_BITS.schema;

/** What is wrong with the shape of `bar`, or null when the other rules can judge it. */
export function schemaProblem(
  bar: Partial<Bar> | null | undefined,
): { field: Issue['field']; message: string } | null {
  if (typeof bar !== 'object' || bar === null)
    return { field: undefined, message: `bar must be an object, got ${redactText(String(bar))}` };
  if (typeof bar.symbol !== 'string' || bar.symbol.length === 0) {
    return {
      field: 'symbol',
      message: `symbol must be a non-empty string, got ${redactText(String(JSON.stringify(bar.symbol)))}`,
    };
  }
  if (!isTimeframe(bar.timeframe))
    return {
      field: 'timeframe',
      message: `unknown timeframe ${redactText(String(JSON.stringify(bar.timeframe)))}`,
    };
  if (typeof bar.final !== 'boolean')
    return {
      field: 'final',
      message: `final must be a boolean, got ${redactText(String(JSON.stringify(bar.final)))}`,
    };
  return null;
}

/** Writes a schema rejection into `scratch` and returns its one issue. */
export function schemaReject(scratch: Scratch, field: Issue['field'], message: string): Issue[] {
  scratch.mask = SCHEMA_BIT;
  scratch.status = STATUS_CODES.rejected;
  scratch.rejectedBy = RULES.schema;
  scratch.quality = 0;
  const issue: Issue = { rule: RULES.schema, severity: 'error', message };
  if (field !== undefined) issue.field = field;
  return [issue];
}
