import { type Bar, type HistoryStore, type Timeframe } from '@pipeline/core';

/** Bars of each symbol in [from, to), oldest first, read in pages of `pageSize` (bounded memory). */
export async function* storePages(
  store: HistoryStore,
  symbols: readonly string[],
  timeframe: Timeframe,
  from: number,
  to: number,
  pageSize = 10_000,
): AsyncGenerator<Bar[]> {
  for (const symbol of symbols) {
    let cursor = from;
    for (;;) {
      const page = await store.range({ symbol, timeframe, from: cursor, to }, pageSize);
      const last = page[page.length - 1];
      if (last === undefined) break;
      yield page;
      if (page.length < pageSize) break;
      cursor = last.ts + 1;
    }
  }
}
