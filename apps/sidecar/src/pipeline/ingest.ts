// Ingest: fresh bars of one symbol from any source (a poll answer or the stream) go through the
// known-bar filter and the validator, gaps are noted for repair, the indicators advance and the
// signal book is updated at once (a signal is readable as soon as possible); the accepted bars are
// appended to the caller's write list (the cycle's: cache and store writes are batched per cycle).
import { TIMEFRAME_MS, type Bar, type SourceName, type Timeframe } from '@pipeline/core';
import { type FeatureEnginePort, type FeatureValues, type ValidatorPort } from '../ports';
import { advances } from '../state/freshness';
import { type SymbolState } from '../state/symbol-state';
import { type SignalBook } from '../strategy/signals';

/** A jump between two bars longer than this is not repaired live (a restart's bootstrap does it). */
const MAX_LIVE_GAP_MS = 7 * 86_400_000;

/** A stretch `[from, to)` of one symbol's bars missed between two live answers. */
export interface LiveGap {
  symbol: string;
  from: number;
  to: number;
}

export interface IngestOptions {
  timeframe: Timeframe;
  validator: ValidatorPort;
  features: FeatureEnginePort;
  signals: Pick<SignalBook, 'record' | 'redate'>;
  /** Called when a new bar lands more than one period after the previous one. */
  onGap: (gap: LiveGap) => void;
}

/**
 * A write list the accepted bars are appended to: `bars[0, n)` hold the bars so far, oldest first;
 * the slots from `n` on are free (the array may be sized ahead, with holes, and slots past `n` may
 * hold leftovers that are overwritten: read `[0, n)` only). One per cycle, not one per symbol.
 */
export interface BarList {
  bars: Bar[];
  n: number;
}

export interface Ingest {
  /**
   * Applies one answer of `source` for `state`'s symbol, received at `now` (epoch ms): its accepted
   * bars are appended to `out` (`out.bars[n0, out.n)`, n0 the `n` before the call; never changed
   * after), and the number of rejected bars is returned. When it throws, `out.n` is as it was.
   */
  apply(state: SymbolState, raw: readonly Bar[], source: SourceName, now: number, out: BarList): number;
}

/**
 * The answer held a usable bar (new, or one already known: a fallback source may lag the forming bar
 * by one); an answer of only rejected bars must not hide staleness, so it does not come here.
 */
function markFresh(state: SymbolState, source: SourceName, now: number): void {
  state.lastSuccessAt = now;
  state.lastSource = source;
  state.consecutiveFailures = 0;
}

export function createIngest(options: IngestOptions): Ingest {
  const { validator, features, signals, onGap } = options;
  const tfMs = TIMEFRAME_MS[options.timeframe];
  return {
    apply(state, raw, source, now, out) {
      const prev = state.lastBar;
      // Only bars at or after the newest known one go on: same ts replaces the forming bar (or
      // finalises it); older ones were seen in an earlier poll, and passing them again would count
      // them twice in the indicators and as duplicates in the validator.
      // The kept bars go straight into the caller's write list, `list[from, n)`, published (out.n)
      // only once the whole answer went through: no array and no result object per symbol per
      // cycle (they were 96 B of the usual one-bar answer, issue 16), and an apply that throws
      // (a port's error) leaves the list as it was, its slots free for the next symbol.
      const list = out.bars;
      const from = out.n;
      let n = from;
      let rejected = 0;
      let known = 0;
      // Indexed loops: no iterator objects, whichever tier V8 runs this in (it runs for every
      // symbol every cycle).
      for (let i = 0; i < raw.length; i++) {
        const b = raw[i];
        if (b === undefined) continue;
        if (prev && b.ts < prev.ts) {
          known++;
          continue;
        }
        // keep(): no result object, and a clean bar the source scored 1 is kept as it came (no copy
        // living until the cycle's writes); nothing here or downstream changes a kept bar.
        const kept = validator.keep(b);
        if (kept === null) rejected++;
        else list[n++] = kept;
      }
      const first = n > from ? list[from] : undefined;
      if (first === undefined) {
        if (known > 0) markFresh(state, source, now);
        return rejected;
      }
      if (prev && first.ts > prev.ts + tfMs && first.ts - prev.ts <= MAX_LIVE_GAP_MS) {
        onGap({ symbol: state.symbol, from: prev.ts + tfMs, to: first.ts });
      }
      let values: FeatureValues | null = features.update(first);
      let last: Bar = first;
      for (let i = from + 1; i < n; i++) {
        const bar = list[i];
        if (bar === undefined) continue;
        values = features.update(bar);
        last = bar;
      }
      markFresh(state, source, now);
      // The data advanced (a newer bar, or the forming bar's values moved): the clock of the
      // freshness rule. A frozen answer (the same bar again) leaves it, and the signal's data time.
      if (advances(prev, last)) state.lastAdvanceAt = now;
      state.lastBar = last;
      const dataAt = state.lastAdvanceAt ?? now;
      // A port that has no values for the bar (typed out, but a fake may) only moves the signal's data time.
      if (values) signals.record(state, last, values, dataAt);
      else signals.redate(state.symbol, dataAt);
      out.n = n;
      return rejected;
    },
  };
}
