// Counts per status and per rule since creation or resetCounters().
import { type Scratch } from './check';
import { RULES, RULE_BITS, RULE_ORDER, type RuleName } from './rules';
import { type RuleCounter, type ValidatorCounters } from './types';

export class RuleCounters {
  private bars = 0;
  private readonly byStatus = [0, 0, 0];
  private readonly flagged = new Float64Array(RULE_ORDER.length);
  private readonly repairedBy = new Float64Array(RULE_ORDER.length);
  private readonly rejectedBy = new Float64Array(RULE_ORDER.length);

  /** @param enabled bit mask of the enabled rules ({@link RULE_BITS}). */
  constructor(private readonly enabled: number) {}

  /** Counts the verdict in `out`. */
  count(out: Scratch): void {
    this.bars++;
    this.byStatus[out.status] = (this.byStatus[out.status] ?? 0) + 1;
    let mask = out.mask;
    if (mask === 0) return;
    for (let i = 0; mask !== 0; i++, mask >>>= 1) {
      if ((mask & 1) === 0) continue;
      const rule = RULE_ORDER[i];
      const tally =
        rule === out.rejectedBy
          ? this.rejectedBy
          : rule === RULES.ohlc || rule === RULES.volume
            ? this.repairedBy
            : this.flagged;
      // A set bit i is a rule index, and each tally has one cell per rule.
      tally[i] = (tally[i] ?? 0) + 1;
    }
  }

  snapshot(): ValidatorCounters {
    const perRule = {} as Record<RuleName, RuleCounter>;
    // Rules run in order and stop at the first rejection, so a rule saw every bar not rejected before it.
    let reached = this.bars;
    RULE_ORDER.forEach((rule, i) => {
      const seen = (this.enabled & RULE_BITS[rule]) !== 0 ? reached : 0;
      const repaired = this.repairedBy[i] ?? 0;
      const rejected = this.rejectedBy[i] ?? 0;
      perRule[rule] = {
        accepted: seen - repaired - rejected,
        flagged: this.flagged[i] ?? 0,
        repaired,
        rejected,
      };
      reached -= rejected;
    });
    const [accepted = 0, repaired = 0, rejected = 0] = this.byStatus;
    return { bars: this.bars, accepted, repaired, rejected, rules: perRule };
  }

  reset(): void {
    this.bars = 0;
    this.byStatus.fill(0);
    this.flagged.fill(0);
    this.repairedBy.fill(0);
    this.rejectedBy.fill(0);
  }
}
