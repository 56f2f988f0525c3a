// What the validation stages share: resolved options and rule config, the series states, the scratch
// verdict, the counters and the issue events. One per validator.
import { type Clock } from '@pipeline/core';
import { CheckConfig, Scratch } from './check';
import { RuleCounters } from './counters';
import { IssueEvents } from './issue-events';
import { type ResolvedValidatorOptions } from './options';
import { SCHEMA_BIT } from './schema';
import { SeriesStates } from './series-states';

export interface ValidatorContext {
  readonly opts: ResolvedValidatorOptions;
  readonly cfg: CheckConfig;
  readonly clock: Clock;
  readonly states: SeriesStates;
  /** Reused for every verdict: the hot path allocates nothing for a clean bar. */
  readonly scratch: Scratch;
  readonly counters: RuleCounters;
  readonly events: IssueEvents;
  readonly schemaEnabled: boolean;
}

export function createValidatorContext(opts: ResolvedValidatorOptions): ValidatorContext {
  const cfg = new CheckConfig(opts);
  return {
    opts,
    cfg,
    clock: opts.clock,
    states: new SeriesStates(cfg.window, opts.maxSeries),
    scratch: new Scratch(),
    counters: new RuleCounters(cfg.enabled),
    events: new IssueEvents(),
    schemaEnabled: (cfg.enabled & SCHEMA_BIT) !== 0,
  };
}
