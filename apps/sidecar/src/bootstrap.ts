import { FetchError, TIMEFRAMES, TIMEFRAME_MS, type Bar, type SourceName, type Timeframe } from '@pipeline/core';
import { withFallback } from './fallback';
import { type BarStorePort, type SourceSlot, type ValidatorPort } from './ports';

export interface BootstrapProgress {
  /** Chunks planned and done over all symbols. */
  chunksPlanned: number;
  chunksDone: number;
  /** 0..1 */
  fraction: number;
  bars: number;
  /** Symbol being fetched now, or null when finished. */
  current: string | null;
  failedChunks: number;
  done: boolean;
}

export interface BootstrapReport {
  chunksPlanned: number;
  chunksDone: number;
  failedChunks: number;
  bars: number;
  /** Bars stored per timeframe (coarser ones where a source keeps no fine history that far back). */
  barsByTimeframe: Partial<Record<Timeframe, number>>;
  bySource: Partial<Record<SourceName, number>>;
}

export interface BootstrapInput {
  symbols: readonly string[];
  timeframe: Timeframe;
  /** Inclusive start, epoch ms. */
  from: number;
  /** Exclusive end, epoch ms. */
  to: number;
  sources: readonly SourceSlot[];
  store: BarStorePort;
  validator: ValidatorPort;
  now: () => number;
  onProgress?: (p: BootstrapProgress) => void;
  isCancelled?: () => boolean;
}

interface Chunk {
  symbol: string;
  from: number;
  to: number;
}

/**
 * The ranges of [from, to) that the store lacks at `timeframe`: before the first stored bar,
 * after the last one, and the gaps inside. This is what makes bootstrap resumable: whatever an
 * interrupted run already flushed is not fetched again.
 */
export function missingRanges(store: BarStorePort, symbol: string, timeframe: Timeframe, from: number, to: number): { from: number; to: number; newestFirst: boolean }[] {
  const tfMs = TIMEFRAME_MS[timeframe];
  const extent = store.extent(symbol, timeframe);
  if (!extent) return from < to ? [{ from, to, newestFirst: true }] : [];
  const out: { from: number; to: number; newestFirst: boolean }[] = [];
  if (extent.last + tfMs < to) out.push({ from: extent.last + tfMs, to, newestFirst: false });
  for (const g of store.gaps(symbol, timeframe, Math.max(from, extent.first), Math.min(to, extent.last + tfMs))) {
    out.push({ from: g.from, to: g.to, newestFirst: false });
  }
  if (extent.first - from >= tfMs) out.push({ from, to: extent.first, newestFirst: true });
  return out;
}

/** Splits a range into request-sized chunks: about 1,000 bars or one day, whichever is longer. */
function chunksOf(symbol: string, r: { from: number; to: number; newestFirst: boolean }, timeframe: Timeframe): Chunk[] {
  const size = Math.max(86_400_000, 1000 * TIMEFRAME_MS[timeframe]);
  const out: Chunk[] = [];
  for (let a = r.from; a < r.to; a += size) out.push({ symbol, from: a, to: Math.min(r.to, a + size) });
  // Extending history backwards from the oldest stored bar keeps it contiguous, so a restart
  // resumes exactly where it stopped.
  return r.newestFirst ? out.reverse() : out;
}

/** The finest timeframe at or above `base` that `slot` serves with history reaching back to `from`. */
export function finestTimeframeFor(slot: SourceSlot, base: Timeframe, from: number, now: number): Timeframe | null {
  const caps = slot.fetcher.capabilities;
  for (const tf of TIMEFRAMES.slice(TIMEFRAMES.indexOf(base))) {
    if (!caps.timeframes.includes(tf)) continue;
    const depth = caps.historyDepthMs[tf];
    if (depth === undefined || now - from <= depth) return tf;
  }
  return null;
}

/**
 * Fetches what the store lacks over [from, to) for every symbol, chunk by chunk, each chunk from
 * the first source that has it (breakers, budgets and fallback as in the live loop), at the finest
 * timeframe that source keeps that far back. Each chunk is flushed before the next, so progress
 * survives a restart.
 */
export async function runBootstrap(input: BootstrapInput): Promise<BootstrapReport> {
  const { store, validator, timeframe } = input;
  const chunks: Chunk[] = [];
  for (const symbol of input.symbols) {
    for (const r of missingRanges(store, symbol, timeframe, input.from, input.to)) chunks.push(...chunksOf(symbol, r, timeframe));
  }
  const report: BootstrapReport = { chunksPlanned: chunks.length, chunksDone: 0, failedChunks: 0, bars: 0, barsByTimeframe: {}, bySource: {} };
  const progress = (current: string | null, done = false) =>
    input.onProgress?.({
      chunksPlanned: report.chunksPlanned,
      chunksDone: report.chunksDone,
      fraction: report.chunksPlanned === 0 ? 1 : report.chunksDone / report.chunksPlanned,
      bars: report.bars,
      current,
      failedChunks: report.failedChunks,
      done,
    });
  progress(chunks[0]?.symbol ?? null);
  for (const chunk of chunks) {
    if (input.isCancelled?.()) break;
    try {
      const res = await withFallback(
        input.sources,
        chunk.symbol,
        // History may come at a coarser timeframe than the live one: each source picks its own.
        null,
        async (slot, signal) => {
          const tf = finestTimeframeFor(slot, timeframe, chunk.from, input.now());
          if (!tf) {
            throw new FetchError({ kind: 'not_supported', source: slot.name, symbol: chunk.symbol, message: `no history back to ${new Date(chunk.from).toISOString()}` });
          }
          return { tf, bars: await slot.fetcher.fetchHistory({ symbol: chunk.symbol, timeframe: tf, from: chunk.from, to: chunk.to, signal }) };
        },
        input.now,
      );
      const { bars } = validator.validate(res.value.bars, undefined);
      const stored: Bar[] = bars.filter((b) => b.ts >= chunk.from && b.ts < chunk.to);
      if (stored.length > 0) {
        store.enqueue(stored);
        await store.flush();
      }
      report.bars += stored.length;
      report.barsByTimeframe[res.value.tf] = (report.barsByTimeframe[res.value.tf] ?? 0) + stored.length;
      report.bySource[res.source] = (report.bySource[res.source] ?? 0) + stored.length;
    } catch {
      report.failedChunks++;
    }
    report.chunksDone++;
    progress(chunk.symbol);
  }
  progress(null, true);
  return report;
}
