import { TIMEFRAME_MS, alignTs, type Bar, type Clock, type Timeframe } from '@pipeline/core';

/** One history request window: [from, to) in epoch ms. */
export interface RangeChunk {
  from: number;
  to: number;
}

/**
 * Splits [from, to) into consecutive windows no wider than `maxRangeMs` (the last may be shorter).
 * `maxRangeMs` undefined or Infinity: one window. An empty or inverted range gives no window.
 */
export function splitRange(from: number, to: number, maxRangeMs?: number): RangeChunk[] {
  if (!(to > from)) return [];
  if (maxRangeMs === undefined || !Number.isFinite(maxRangeMs) || maxRangeMs <= 0) return [{ from, to }];
  const chunks: RangeChunk[] = [];
  for (let start = from; start < to; start += maxRangeMs)
    chunks.push({ from: start, to: Math.min(to, start + maxRangeMs) });
  return chunks;
}

/**
 * Normalises what a provider returned: sorted by `ts` ascending, one bar per `ts` (the LAST one
 * seen wins, so a later page or a live update replaces an older copy), and `final` set from the
 * clock: a bar is still forming while `now < ts + timeframe`. Bars with `final: false` from the
 * provider stay non-final.
 */
export function finishBars(bars: readonly Bar[], clock: Clock): Bar[] {
  const byTs = new Map<number, Bar>();
  for (const bar of bars) byTs.set(bar.ts, bar);
  const now = clock.now();
  return [...byTs.values()]
    .sort((a, b) => a.ts - b.ts)
    .map((bar) => (bar.final && now < bar.ts + TIMEFRAME_MS[bar.timeframe] ? { ...bar, final: false } : bar));
}

/** Keeps bars whose `ts` lies in [from, to). */
export function clipBars(bars: readonly Bar[], from: number, to: number): Bar[] {
  return bars.filter((b) => b.ts >= from && b.ts < to);
}

/** The last `limit` bars (all when limit is undefined). */
export function lastBars(bars: readonly Bar[], limit: number | undefined): Bar[] {
  return limit === undefined || limit >= bars.length
    ? [...bars]
    : bars.slice(bars.length - Math.max(0, limit));
}

/**
 * Aggregates finer bars into a coarser UTC-aligned timeframe (e.g. 1h -> 4h): open of the first,
 * close of the last, max/min, summed volume. An output bar is final only when every input is final
 * and the window has ended per the clock (checked later by {@link finishBars}).
 */
export function resampleBars(bars: readonly Bar[], to: Timeframe): Bar[] {
  const groups = new Map<number, [Bar, ...Bar[]]>();
  for (const bar of [...bars].sort((a, b) => a.ts - b.ts)) {
    const key = alignTs(bar.ts, to);
    const g = groups.get(key);
    if (g) g.push(bar);
    else groups.set(key, [bar]);
  }
  const out: Bar[] = [];
  for (const [ts, g] of groups) {
    const first = g[0];
    const last = g[g.length - 1] ?? first;
    out.push({
      ...first,
      timeframe: to,
      ts,
      open: first.open,
      close: last.close,
      high: Math.max(...g.map((b) => b.high)),
      low: Math.min(...g.map((b) => b.low)),
      volume: g.reduce((s, b) => s + b.volume, 0),
      final: g.every((b) => b.final),
    });
  }
  return out;
}

/**
 * A finite, strictly positive price from a provider value (number or numeric string); null for
 * null, missing, "-", NaN, zero or negative values - the caller counts and skips the row.
 */
export function toPrice(value: unknown): number | null {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
}

/** A volume >= 0; 0 where the provider sends none (null/missing), null when it is garbage. */
export function toVolume(value: unknown): number | null {
  if (value === null || value === undefined) return 0;
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : NaN;
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** True when OHLC are consistent: low <= open, close <= high. */
export function isConsistentOhlc(open: number, high: number, low: number, close: number): boolean {
  return low <= open && low <= close && high >= open && high >= close && low <= high;
}
