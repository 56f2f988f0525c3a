// Ingest: fresh bars of one symbol from any source (a poll answer or the stream) go through the
// known-bar filter and the validator, gaps are noted for repair, the indicators advance and the
// signal book is updated at once (a signal is readable as soon as possible); the accepted bars are
// returned so that cache and store writes can be batched per cycle.
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

export interface IngestResult {
  /** Validated bars to write to cache and store, oldest first (never changed after it is returned). */
  accepted: readonly Bar[];
  rejected: number;
}

export interface Ingest {
  /** Applies one answer of `source` for `state`'s symbol, received at `now` (epoch ms). */
  apply(state: SymbolState, raw: readonly Bar[], source: SourceName, now: number): IngestResult;
}

const NO_BARS: readonly Bar[] = Object.freeze([]);
/** The answer of an apply that accepted and rejected nothing (a known bar again, or an empty answer). */
const NOTHING: IngestResult = Object.freeze({ accepted: NO_BARS, rejected: 0 });

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
    apply(state, raw, source, now) {
      const prev = state.lastBar;
      // Only bars at or after the newest known one go on: same ts replaces the forming bar (or
      // finalises it); older ones were seen in an earlier poll, and passing them again would count
      // them twice in the indicators and as duplicates in the validator.
      // The usual answer holds one such bar (the forming one, or the closing bar and its successor
      // once a minute): the first is kept in `first`, an array is made only for a second. An array
      // grown by push from empty took a 17-slot backing store per symbol per cycle (issue 16).
      let first: Bar | undefined;
      let more: Bar[] | undefined;
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
        else if (first === undefined) first = kept;
        else if (more === undefined) more = [first, kept];
        else more.push(kept);
      }
      if (first === undefined) {
        if (known > 0) markFresh(state, source, now);
        return rejected === 0 ? NOTHING : { accepted: NO_BARS, rejected };
      }
      if (prev && first.ts > prev.ts + tfMs && first.ts - prev.ts <= MAX_LIVE_GAP_MS) {
        onGap({ symbol: state.symbol, from: prev.ts + tfMs, to: first.ts });
      }
      let values: FeatureValues | null = features.update(first);
      let last: Bar = first;
      if (more !== undefined) {
        for (let i = 1; i < more.length; i++) {
          const bar = more[i];
          if (bar === undefined) continue;
          values = features.update(bar);
          last = bar;
        }
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
      return { accepted: more ?? [first], rejected };
    },
  };
}
