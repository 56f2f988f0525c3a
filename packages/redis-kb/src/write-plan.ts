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
  // Series found by timeframe, then symbol: no key string built per series.
  const byTimeframe = new Map<string, Map<string, SeriesBatch>>();
  const series: SeriesBatch[] = [];
  const invalid: WritePlan['invalid'] = [];
  // Bars come grouped by series: one of the previous bar's series skips the lookup.
  let last: SeriesBatch | undefined;
  let unsorted = false;
  for (let i = 0; i < bars.length; i++) {
    const bar = bars[i] as Bar; // i < bars.length
    const issue = cacheIssue(bar);
    if (issue !== null) {
      invalid.push({ bar, issue });
      continue;
    }
    if (last !== undefined && last.symbol === bar.symbol && last.timeframe === bar.timeframe) {
      if (!unsorted && bar.ts < (last.bars[last.bars.length - 1] as Bar).ts) unsorted = true;
      last.bars.push(bar);
      continue;
    }
    let bySymbol = byTimeframe.get(bar.timeframe);
    if (bySymbol === undefined) {
      bySymbol = new Map();
      byTimeframe.set(bar.timeframe, bySymbol);
    }
    let batch = bySymbol.get(bar.symbol);
    if (batch === undefined) {
      // A one-element literal: most series get one bar per batch (a pushed [] would reserve 16).
      batch = { symbol: bar.symbol, timeframe: bar.timeframe, bars: [bar] };
      bySymbol.set(bar.symbol, batch);
      series.push(batch);
    } else {
      if (!unsorted && bar.ts < (batch.bars[batch.bars.length - 1] as Bar).ts) unsorted = true;
      batch.bars.push(bar);
    }
    last = batch;
  }
  if (unsorted) {
    for (const s of series) {
      if (!isSorted(s.bars)) s.bars.sort((a, b) => a.ts - b.ts); // Array#sort is stable
    }
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
