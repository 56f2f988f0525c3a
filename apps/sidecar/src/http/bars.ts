// /bars for every timeframe: higher timeframes are resampled from the stored base bars with the
// features package's Resampler (the one implementation the indicators use too), UTC aligned, the
// forming bar last with `final: false`; `from` reads that window from the store. A limit above what
// is served is lowered and the answer says so (`clipped: true`, `limit` the one applied), never silently.
import { TIMEFRAME_MS, alignTs, type Bar, type Timeframe } from '@pipeline/core';
import { Resampler } from '@pipeline/features';

/** Base bars read for one resampled answer at most (a 4h or 1d answer from 1m bars reads many). */
export const MAX_BASE_BARS_READ = 200_000;

export interface BarsQuery {
  timeframe: Timeframe;
  /** Asked for; undefined: 500. */
  limit?: number;
  /** Bar open time window, epoch ms, `from <= ts < to`. */
  from?: number;
  to?: number;
}

export interface BarsAnswer {
  bars: Bar[];
  stale: boolean;
  ageMs: number | null;
  limit: number;
  clipped: boolean;
}

export interface BarsReader {
  bars(
    symbol: string,
    timeframe: Timeframe,
    limit: number,
  ): Promise<{ bars: Bar[]; stale: boolean; ageMs: number | null }>;
  /** Bars in `[from, to)`, at most `limit` from `from` (the sidecar's read model has it). */
  barsRange?(
    symbol: string,
    timeframe: Timeframe,
    from: number,
    to: number,
    limit: number,
  ): Promise<{ bars: Bar[]; stale: boolean; ageMs: number | null }>;
  config: { timeframe: Timeframe; maxBarsCache: number };
}

/**
 * Folds base bars (oldest first, one timeframe) into `timeframe` bars. Every higher bar but the last is
 * final; the last is final only when its last base bar is final and closes its period.
 */
export function resampleBars(base: readonly Bar[], timeframe: Timeframe): Bar[] {
  const first = base[0];
  if (!first) return [];
  const baseMs = TIMEFRAME_MS[first.timeframe];
  const tfMs = TIMEFRAME_MS[timeframe];
  const r = new Resampler(timeframe);
  const out: Bar[] = [];
  let prevTs = NaN;
  let quality = 1;
  for (const b of base) {
    const isNew = r.push(b, b.ts === prevTs);
    prevTs = b.ts;
    quality = isNew ? b.quality : Math.min(quality, b.quality);
    const hb = r.bar;
    const bar: Bar = {
      symbol: b.symbol,
      timeframe,
      ts: hb.ts,
      open: hb.open,
      high: hb.high,
      low: hb.low,
      close: hb.close,
      volume: hb.volume,
      source: b.source,
      final: b.final && b.ts + baseMs >= hb.ts + tfMs,
      quality,
    };
    if (isNew || out.length === 0) {
      const prev = out.at(-1);
      if (prev) prev.final = true;
      out.push(bar);
    } else out[out.length - 1] = bar;
  }
  return out;
}

/** Answers `/bars` for any timeframe at or above the base timeframe. */
export async function readBars(view: BarsReader, symbol: string, q: BarsQuery): Promise<BarsAnswer> {
  const base = view.config.timeframe;
  const asked = q.limit ?? 500;
  const ratio = Math.max(1, Math.round(TIMEFRAME_MS[q.timeframe] / TIMEFRAME_MS[base]));
  // Served at most: the hot cache's length in bars of the timeframe asked, and what the base read cap allows.
  const max = Math.max(1, Math.min(view.config.maxBarsCache, Math.floor(MAX_BASE_BARS_READ / ratio) - 1));
  const limit = Math.min(asked, max);
  const inWindow = (b: Bar) =>
    (q.from === undefined || b.ts >= q.from) && (q.to === undefined || b.ts < q.to);
  if (q.from !== undefined && view.barsRange) {
    // A window: read the base bars from the start of the first period on, `limit` periods at most.
    const from = alignTs(q.from, q.timeframe);
    const to = q.to ?? Number.MAX_SAFE_INTEGER;
    const readTf = TIMEFRAME_MS[q.timeframe] <= TIMEFRAME_MS[base] ? q.timeframe : base;
    const r = await view.barsRange(symbol, readTf, from, to, limit * ratio);
    const bars = (readTf === q.timeframe ? r.bars : resampleBars(r.bars, q.timeframe))
      .filter(inWindow)
      .slice(0, limit);
    return { bars, stale: r.stale, ageMs: r.ageMs, limit, clipped: limit < asked };
  }
  if (TIMEFRAME_MS[q.timeframe] <= TIMEFRAME_MS[base]) {
    const r = await view.bars(symbol, q.timeframe, limit);
    return { ...r, bars: r.bars.filter(inWindow), limit, clipped: limit < asked };
  }
  // One higher bar more than asked: the oldest one read is usually partial and is dropped below.
  const r = await view.bars(symbol, base, (limit + 1) * ratio);
  let bars = resampleBars(r.bars, q.timeframe);
  // The oldest higher bar is cut short when the read started inside its period: drop it.
  const firstBase = r.bars[0];
  const firstHigher = bars[0];
  if (firstBase && firstHigher && firstBase.ts > firstHigher.ts) bars = bars.slice(1);
  bars = bars.filter(inWindow).slice(-limit);
  return { bars, stale: r.stale, ageMs: r.ageMs, limit, clipped: limit < asked };
}
