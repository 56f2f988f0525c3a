// planWrite as it was before the issue-16 hot-path rework (commit 5b1df61): the reference. Not shipped.
import { type Bar, type Timeframe } from '@pipeline/core';
import { cacheIssue } from './keys';

export interface SeriesBatch {
  symbol: string;
  timeframe: Timeframe;
  /** Sorted by ts; equal ts keep input order, so the later one wins as it would one by one. */
  bars: Bar[];
}

export interface WritePlan {
  series: SeriesBatch[];
  invalid: Array<{ bar: unknown; issue: string }>;
}

/** Splits a batch into per-series, ts-sorted runs and sets aside bars the cache cannot hold. */
export function planWrite(bars: readonly Bar[]): WritePlan {
  const bySeries = new Map<string, SeriesBatch>();
  const invalid: WritePlan['invalid'] = [];
  // Bars come grouped by series: one of the previous bar's series skips the key and the lookup.
  let last: SeriesBatch | undefined;
  for (const bar of bars) {
    const issue = cacheIssue(bar);
    if (issue !== null) {
      invalid.push({ bar, issue });
      continue;
    }
    if (last !== undefined && last.symbol === bar.symbol && last.timeframe === bar.timeframe) {
      last.bars.push(bar);
      continue;
    }
    const id = `${bar.symbol}\u0000${bar.timeframe}`;
    let batch = bySeries.get(id);
    if (!batch) {
      batch = { symbol: bar.symbol, timeframe: bar.timeframe, bars: [] };
      bySeries.set(id, batch);
    }
    batch.bars.push(bar);
    last = batch;
  }
  const series = [...bySeries.values()];
  for (const s of series) {
    if (!isSorted(s.bars)) s.bars.sort((a, b) => a.ts - b.ts); // Array#sort is stable
  }
  return { series, invalid };
}

function isSorted(bars: readonly Bar[]): boolean {
  let prev = -Infinity;
  for (const bar of bars) {
    if (bar.ts < prev) return false;
    prev = bar.ts;
  }
  return true;
}
