import { redactText } from '@pipeline/core';
import { type ResolvedValidatorOptions } from './options';
import {
  RULES,
  RULE_BITS,
  RULE_ORDER,
  STATUS_CODES,
  type Issue,
  type RuleName,
  type StatusCode,
} from './rules';
import { type SeriesState, sigmaOf } from './state';

/** A bad value quoted in an issue message, with any secret masked (messages end up in logs). */
const shown = (value: unknown): string => redactText(String(value));

const B = RULE_BITS;
type PriceField = 'open' | 'high' | 'low' | 'close';

/**
 * Output of one check, reused between bars so the hot path allocates nothing. `mask` has a bit per rule that
 * raised an issue; the detail fields only feed messages.
 */
export class Scratch {
  status: StatusCode = STATUS_CODES.accepted;
  mask = 0;
  /** The rule that rejected the bar, when rejected. */
  rejectedBy: RuleName | null = null;
  quality = 1;
  high = NaN;
  low = NaN;
  volume = NaN;
  // message details
  field: Issue['field'] = undefined;
  value: unknown = undefined;
  ohlcField: 'high' | 'low' = 'high';
  ohlcNeed = 0;
  ohlcRel = 0;
  lastTs = NaN;
  dupKind: 'repeat' | 'revision' | 'lateForming' = 'repeat';
  spikeR = 0;
  spikeSigma = 0;
  staleAgeMs = 0;
  unchanged = 0;
  disagreeRel = 0;
  disagreeField: PriceField = 'close';
  future = 0;
}

/** Rule settings flattened into plain fields for the hot loop. */
export class CheckConfig {
  readonly enabled: number;
  readonly penalties: Float64Array;
  readonly ohlcRepair: boolean;
  readonly ohlcTol: number;
  readonly volumeRepair: boolean;
  readonly futureTol: number;
  readonly k: number;
  readonly minHistory: number;
  readonly minSigma: number;
  readonly spikeReject: boolean;
  readonly staleAfterMs: number;
  readonly maxUnchanged: number;
  readonly disagreeTol: number;
  readonly window: number;

  constructor(o: ResolvedValidatorOptions) {
    const r = o.rules;
    let enabled = 0;
    this.penalties = new Float64Array(RULE_ORDER.length);
    RULE_ORDER.forEach((name, i) => {
      const cfg = r[name] as { enabled: boolean; penalty?: number };
      if (cfg.enabled) enabled |= B[name];
      this.penalties[i] = cfg.penalty ?? 0;
    });
    this.enabled = enabled;
    this.ohlcRepair = r.ohlc.repair;
    this.ohlcTol = r.ohlc.repairTolerance;
    this.volumeRepair = r.volume.repairMissing;
    this.futureTol = r.future.toleranceMs;
    this.k = r.spike.k;
    this.minHistory = r.spike.minHistory;
    this.minSigma = r.spike.minSigma;
    this.spikeReject = r.spike.action === 'reject';
    this.staleAfterMs = r.stale.staleAfterMs;
    this.maxUnchanged = r.flatline.maxUnchangedUpdates;
    this.disagreeTol = r.disagreement.tolerance;
    this.window = r.spike.window;
  }
}

/**
 * The quality score: 0 for a rejected bar, otherwise the product of `(1 - penalty)` over the distinct rules
 * that repaired or flagged the bar (1 for a clean bar).
 */
export function qualityOf(mask: number, status: StatusCode, penalties: ArrayLike<number>): number {
  if (status === STATUS_CODES.rejected) return 0;
  let q = 1;
  // A set bit i is a rule index (< RULE_ORDER.length), and penalties has one entry per rule.
  for (let i = 0; mask !== 0; i++, mask >>>= 1) if (mask & 1) q *= 1 - (penalties[i] ?? NaN);
  return q;
}

// Module-level rather than a closure inside checkBar: a closure would be allocated on every bar.
function rejectWith(out: Scratch, mask: number, rule: RuleName): void {
  // `out.field` names the field of the rejecting rule only; a duplicate has none of its own.
  if (rule === RULES.duplicate) out.field = undefined;
  out.mask = mask | B[rule];
  out.status = STATUS_CODES.rejected;
  out.rejectedBy = rule;
  out.quality = 0;
}

/** {@link relDiff} against a usable reference price, 0 (no disagreement) when the reference is missing or bad. */
function refDiff(a: number, ref: number): number {
  return ref > 0 && Number.isFinite(ref) ? relDiff(a, ref) : 0;
}

function relDiff(a: number, ref: number): number {
  return Math.abs(a - ref) / Math.abs(ref);
}

/**
 * Runs the value, time and series rules on one bar (schema is checked by the caller). Writes the verdict into
 * `out`, and commits the bar into `st` unless it was rejected. Never throws on bad data.
 */
export function checkBar(
  cfg: CheckConfig,
  st: SeriesState | null,
  tfMs: number,
  ts: number,
  open: number,
  high: number,
  low: number,
  close: number,
  volume: unknown,
  final: boolean,
  refOpen: number,
  refHigh: number,
  refLow: number,
  refClose: number,
  now: number,
  out: Scratch,
): void {
  const en = cfg.enabled;
  let mask = 0;
  let repaired = false;
  out.rejectedBy = null;
  out.high = high;
  out.low = low;
  out.field = undefined;

  if (en & B.nonFinite) {
    if (!Number.isFinite(ts))
      return ((out.field = 'ts'), (out.value = ts), rejectWith(out, mask, RULES.nonFinite));
    if (!Number.isFinite(open))
      return ((out.field = 'open'), (out.value = open), rejectWith(out, mask, RULES.nonFinite));
    if (!Number.isFinite(high))
      return ((out.field = 'high'), (out.value = high), rejectWith(out, mask, RULES.nonFinite));
    if (!Number.isFinite(low))
      return ((out.field = 'low'), (out.value = low), rejectWith(out, mask, RULES.nonFinite));
    if (!Number.isFinite(close))
      return ((out.field = 'close'), (out.value = close), rejectWith(out, mask, RULES.nonFinite));
  }
  if (en & B.nonPositive) {
    if (!(open > 0))
      return ((out.field = 'open'), (out.value = open), rejectWith(out, mask, RULES.nonPositive));
    if (!(high > 0))
      return ((out.field = 'high'), (out.value = high), rejectWith(out, mask, RULES.nonPositive));
    if (!(low > 0)) return ((out.field = 'low'), (out.value = low), rejectWith(out, mask, RULES.nonPositive));
    if (!(close > 0))
      return ((out.field = 'close'), (out.value = close), rejectWith(out, mask, RULES.nonPositive));
  }
  if (en & B.ohlc) {
    const top = open > close ? open : close;
    const bottom = open < close ? open : close;
    if (low > high) {
      out.ohlcNeed = low - high;
      out.ohlcRel = (low - high) / close;
      out.field = out.ohlcField = 'low';
      return rejectWith(out, mask, RULES.ohlc);
    }
    if (top > high || bottom < low) {
      const need = Math.max(top - high, low - bottom);
      out.ohlcNeed = need;
      out.ohlcRel = need / close;
      out.field = out.ohlcField = top > high ? 'high' : 'low';
      if (!cfg.ohlcRepair || !(out.ohlcRel <= cfg.ohlcTol)) return rejectWith(out, mask, RULES.ohlc);
      // Conservative repair: only widen the range to the prices the bar itself reports.
      if (top > high) out.high = top;
      if (bottom < low) out.low = bottom;
      mask |= B.ohlc;
      repaired = true;
    }
  }
  let vol = volume as number;
  if (en & B.volume) {
    if (volume === null || volume === undefined || (typeof volume === 'number' && Number.isNaN(volume))) {
      out.value = volume;
      if (!cfg.volumeRepair) return ((out.field = 'volume'), rejectWith(out, mask, RULES.volume));
      vol = 0;
      mask |= B.volume;
      repaired = true;
    } else if (typeof volume !== 'number' || !Number.isFinite(volume) || volume < 0) {
      out.value = volume;
      return ((out.field = 'volume'), rejectWith(out, mask, RULES.volume));
    }
  }
  out.volume = vol;
  if (en & B.misaligned && ts % tfMs !== 0)
    return ((out.field = 'ts'), rejectWith(out, mask, RULES.misaligned));
  if (en & B.future && ts > now + cfg.futureTol)
    return ((out.field = 'ts'), (out.future = ts - now), rejectWith(out, mask, RULES.future));

  // Series rules.
  let isNew = true;
  let older = false;
  let isSpike = false;
  let unchanged = 0;
  let pushR = NaN;
  if (st !== null && st.lastTs === st.lastTs) {
    out.lastTs = st.lastTs;
    if (ts < st.lastTs) {
      if (en & B.order) return ((out.field = 'ts'), rejectWith(out, mask, RULES.order));
      older = true;
    } else if (ts === st.lastTs) {
      isNew = false;
      if (st.lastFinal) {
        if (!final) {
          out.dupKind = 'lateForming';
          if (en & B.order) return ((out.field = 'final'), rejectWith(out, mask, RULES.order));
        } else if (
          open === st.lastOpen &&
          out.high === st.lastHigh &&
          out.low === st.lastLow &&
          close === st.lastClose &&
          vol === st.lastVolume
        ) {
          out.dupKind = 'repeat';
          if (en & B.duplicate) return rejectWith(out, mask, RULES.duplicate);
        } else if (en & B.duplicate) {
          out.dupKind = 'revision';
          mask |= B.duplicate;
        }
      }
    }
    if (!older) {
      // Spike: the bar's close against the close of the bar before it (for a replacement, the same base as the
      // bar it replaces), in rolling sigmas of earlier returns.
      let base: number, preBase: number, prevSpike: boolean;
      let n = st.ringLen;
      let sum = st.sum;
      let sumSq = st.sumSq;
      const sigmaNow = Math.max(sigmaOf(n, sum, sumSq), cfg.minSigma);
      if (isNew) {
        base = st.lastClose;
        preBase = st.baseClose;
        prevSpike = st.lastWasSpike;
        if (st.baseClose === st.baseClose) {
          pushR = Math.log(st.lastClose / st.baseClose);
          // Returns enter the window winsorised at k sigma, so one bad tick cannot blind the rule for a window.
          if (n >= cfg.minHistory) {
            const cap = cfg.k * sigmaNow;
            if (pushR > cap) pushR = cap;
            else if (pushR < -cap) pushR = -cap;
          }
          const ev = st.evictable();
          if (n < cfg.window) n++;
          sum += pushR - ev;
          sumSq += pushR * pushR - ev * ev;
        }
      } else {
        base = st.baseClose;
        preBase = st.prevBase;
        prevSpike = st.prevWasSpike;
      }
      if (en & B.spike && n >= cfg.minHistory && base === base) {
        const sigma = Math.max(sigmaOf(n, sum, sumSq), cfg.minSigma);
        const r = Math.log(close / base);
        const thr = cfg.k * sigma;
        // A return to the pre-spike level right after a flagged spike is the bad tick going away, not a new spike.
        if (
          Math.abs(r) > thr &&
          !(prevSpike && preBase === preBase && Math.abs(Math.log(close / preBase)) <= thr)
        ) {
          out.spikeR = r;
          out.spikeSigma = sigma;
          out.field = 'close';
          if (cfg.spikeReject) return rejectWith(out, mask, RULES.spike);
          mask |= B.spike;
          isSpike = true;
        }
      }
      if (en & B.flatline) {
        unchanged = close === st.lastClose ? st.unchanged + 1 : 0;
        if (unchanged >= cfg.maxUnchanged) {
          out.unchanged = unchanged;
          mask |= B.flatline;
        }
      }
    }
  }
  if (en & B.stale && !final) {
    const age = now - (ts + tfMs);
    if (age > cfg.staleAfterMs) {
      out.staleAgeMs = age;
      mask |= B.stale;
    }
  }
  if (en & B.disagreement && refClose === refClose) {
    // The first field with the largest difference wins (open, high, low, close), as a loop would find it.
    let worst = 0;
    let field: PriceField = 'close';
    let d = refDiff(open, refOpen);
    if (d > worst) {
      worst = d;
      field = 'open';
    }
    d = refDiff(out.high, refHigh);
    if (d > worst) {
      worst = d;
      field = 'high';
    }
    d = refDiff(out.low, refLow);
    if (d > worst) {
      worst = d;
      field = 'low';
    }
    d = refDiff(close, refClose);
    if (d > worst) {
      worst = d;
      field = 'close';
    }
    if (worst > cfg.disagreeTol) {
      out.disagreeRel = worst;
      out.disagreeField = field;
      mask |= B.disagreement;
    }
  }

  out.mask = mask;
  out.status = repaired ? STATUS_CODES.repaired : STATUS_CODES.accepted;
  out.quality = mask === 0 ? 1 : qualityOf(mask, out.status, cfg.penalties);

  if (st !== null && !older) {
    if (isNew) {
      if (pushR === pushR) st.push(pushR);
      if (st.lastTs === st.lastTs) {
        st.prevBase = st.baseClose;
        st.prevWasSpike = st.lastWasSpike;
        st.baseClose = st.lastClose;
      }
    }
    if (en & B.flatline) st.unchanged = unchanged;
    st.lastTs = ts;
    st.lastFinal = final;
    st.lastOpen = open;
    st.lastHigh = out.high;
    st.lastLow = out.low;
    st.lastClose = close;
    st.lastVolume = vol;
    st.lastWasSpike = isSpike;
    st.lastUpdateAt = now;
  }
}

function fmt(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(6))) : String(x);
}

/** The issues of a checked bar, built from `out` (allocates; only called for bars with issues). */
export function renderIssues(out: Scratch, cfg: CheckConfig, timeframe: string): Issue[] {
  const issues: Issue[] = [];
  const rejectedBy = out.rejectedBy;
  for (const rule of RULE_ORDER) {
    if ((out.mask & B[rule]) === 0) continue;
    const error = rule === rejectedBy;
    const severity = error ? (rule === RULES.duplicate ? 'info' : 'error') : 'warning';
    let message: string;
    let field: Issue['field'] = error ? out.field : undefined;
    switch (rule) {
      case RULES.nonFinite:
        message = `${out.field} is not a finite number: ${shown(out.value)}`;
        break;
      case RULES.nonPositive:
        message = `${out.field} must be > 0, got ${shown(out.value)}`;
        break;
      case RULES.ohlc:
        if (error && out.ohlcRel > 0 && out.field === 'low' && out.low > out.high) {
          message = `low ${fmt(out.low)} is above high ${fmt(out.high)}`;
        } else {
          message = error
            ? `open/close outside high/low by ${fmt(out.ohlcNeed)} (${fmt(out.ohlcRel * 1e4)} bp of the close), above the repair tolerance ${fmt(cfg.ohlcTol * 1e4)} bp`
            : `high/low widened by ${fmt(out.ohlcNeed)} (${fmt(out.ohlcRel * 1e4)} bp of the close) to contain open/close`;
          field = out.ohlcField;
        }
        break;
      case RULES.volume:
        message = error
          ? `volume must be a finite number >= 0, got ${shown(out.value)}`
          : `missing volume (${shown(out.value)}) set to 0`;
        field = 'volume';
        break;
      case RULES.misaligned:
        message = `ts is not aligned to ${timeframe}`;
        break;
      case RULES.future:
        message = `ts lies ${out.future} ms in the future (tolerance ${cfg.futureTol} ms)`;
        break;
      case RULES.order:
        message =
          out.dupKind === 'lateForming' && out.field === 'final'
            ? `forming update after the final bar for the same ts`
            : `ts goes back from ${out.lastTs}`;
        break;
      case RULES.duplicate:
        message = error ? 'exact repeat of a final bar' : 'revision of a final bar (replaced)';
        break;
      case RULES.spike:
        message = `close moved ${fmt(out.spikeR / out.spikeSigma)} sigma (log return ${fmt(out.spikeR)}, sigma ${fmt(out.spikeSigma)}, k ${cfg.k})`;
        field = 'close';
        break;
      case RULES.stale:
        message = `forming bar ended ${out.staleAgeMs} ms ago (stale after ${cfg.staleAfterMs} ms)`;
        break;
      case RULES.flatline:
        message = `close unchanged for ${out.unchanged} consecutive updates`;
        field = 'close';
        break;
      case RULES.disagreement:
        message = `${out.disagreeField} differs from the reference source by ${fmt(out.disagreeRel * 1e4)} bp (tolerance ${fmt(cfg.disagreeTol * 1e4)} bp)`;
        field = out.disagreeField;
        break;
      default:
        message = rule;
    }
    const issue: Issue = { rule, severity, message };
    if (field !== undefined) issue.field = field;
    issues.push(issue);
  }
  return issues;
}
