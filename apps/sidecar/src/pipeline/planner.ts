// Request planner: spreads each provider's request budget evenly over its windows across the symbols
// that need that provider, so the loop never spends a minute's budget in its first seconds and then
// skips every source for the rest of the minute.
//
// Each source has one token bucket per published window (second, minute, day); a request takes a
// token from each. A bucket refills at `(limit + 1 - cap) / (widened window x 1.05)` and holds at most
// `cap` tokens (the per-second limit; for minute and day one round of the symbols that need the source,
// at most a tenth of the limit): in any widened window it grants at most `cap + rate x window`, which
// stays below `limit + 1`, so never more than the limit even where the fetcher's own windows carry
// their safety margin. A symbol "needs" the first source of the fallback order that may be asked now;
// at the start of each cycle the planner grants that source's tokens to its symbols in round-robin
// order (first the ones not asked since the latest bar closed, so the closing minute is fetched once
// more and finalised by the provider, then the longest waiting). A symbol without a grant waits for a
// later cycle: that is its refresh interval, not a failure. A fallback source asked after the first
// one failed takes tokens of its own, if it has them.
// A batch endpoint that costs nothing per symbol (Polygon's snapshot; pipeline/batcher.ts sends the
// cycle's calls as one request) serves up to its `maxSymbols` symbols for one token.
import { alignTs, SequentialMap, type SourceName, type Timeframe } from '@pipeline/core';
import { type BreakerPort, type SourceSlot } from '../ports';
import { batchesLatest } from './batcher';
import { skipReason } from './fallback';

const SECOND_MS = 1_000;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** Share of a window added to it (at least {@link MIN_MARGIN_MS}), as the fetchers' rate budgets do. */
const WINDOW_MARGIN = 0.02;
const MIN_MARGIN_MS = 250;
/** The refill rate is divided by this: headroom so that the burst tokens never reach the limit. */
const RATE_HEADROOM = 1.05;
/** A minute's or day's burst is at most this share of its limit. */
const BURST_SHARE = 0.1;

/** Which of a source's limits sets its planned rate. */
export type PlanLimit = 'second' | 'minute' | 'day' | null;

/** The plan of one source, as /health and the metrics show it. */
export interface SourcePlan {
  source: SourceName;
  /** The provider's limits as the fetcher declares them (null: none published). */
  limits: { perSecond: number | null; perMinute: number | null; perDay: number | null };
  /** The window whose limit sets the planned rate; null: no limit (asked every cycle). */
  limitedBy: PlanLimit;
  /** Requests per minute the planner lets out at most over time (null: unlimited). */
  plannedPerMinute: number | null;
  /** Symbols whose first callable source this is, as of the latest cycle. */
  symbols: number;
  /**
   * Planned ms between two polls of one of those symbols: the configured interval where the budget
   * allows it, longer where it does not; null while no symbol needs the source.
   */
  refreshMs: number | null;
}

export interface RequestPlannerOptions {
  sources: readonly SourceSlot[];
  breaker: BreakerPort;
  timeframe: Timeframe;
  /** COLLECTION_INTERVAL in ms. */
  intervalMs: number;
  /** Symbols collected (sizes the minute's and day's burst: one round). */
  symbols: number;
  /** The planner's time, epoch ms. */
  now: () => number;
  /**
   * Cluster mode: the part of each provider budget this instance plans (its share of the symbols,
   * 0..1), read at the start of every cycle; the buckets are resized when it changes. The shared
   * budget in Redis stays the hard limit; planning only this share keeps the instances from asking
   * for more than it grants. @default () => 1
   */
  share?: () => number;
  /**
   * The limits a source's buckets are built from. Cluster mode: the poll limits (the provider's, less
   * the share the shared budget keeps for history requests). @default the fetcher's declared limits
   */
  limitsFor?: (slot: SourceSlot) => {
    perSecond?: number | null;
    perMinute?: number | null;
    perDay?: number | null;
  };
}

export interface RequestPlanner {
  /**
   * Starts a cycle at `now`: picks each symbol's first callable source and grants that source's
   * tokens; returns the symbols that may be fetched this cycle (the others wait). The set belongs to
   * the planner: a later cycle that grants every symbol of the same list returns the same set again
   * (no set of 20,000 names rebuilt every second), so it is only read (typed as a ReadonlySet).
   */
  beginCycle(symbols: readonly string[], now: number): ReadonlySet<string>;
  /**
   * May `symbol` ask `source` now? The cycle's grant for its first source, or tokens of the source's
   * own for a fallback after a failure. Records the poll.
   */
  admit(source: SourceName, symbol: string, now: number): boolean;
  /** The current plan of every source. */
  plan(): SourcePlan[];
  /** Planned seconds between two polls per source (null where no symbol needs it), for the metrics gauge. */
  refreshIntervals(): Record<string, number | null>;
  /** Sources whose budget cannot give `symbols` symbols the configured interval (the start-up warning). */
  shortfalls(symbols: number): SourcePlan[];
}

/** One window's token bucket. */
interface WindowBucket {
  window: Exclude<PlanLimit, null>;
  /** Tokens per ms. */
  rate: number;
  cap: number;
  tokens: number;
}

interface SourceBuckets {
  slot: SourceSlot;
  windows: WindowBucket[];
  refilledAt: number;
  needers: number;
  /** Symbols one request serves: a batch endpoint's `maxSymbols` when it costs nothing per symbol, else 1. */
  perRequest: number;
}

/**
 * One symbol's polls: the cycle in which it was granted a request of `grantedBy` (its first source,
 * already paid for) until it is used, 0 once used; and when it was last granted a request (any source).
 * One record per symbol, found once per cycle, instead of a map entry per source and one for the time.
 */
interface SymbolPolls {
  readonly symbol: string;
  grantedBy: SourceBuckets | null;
  grantCycle: number;
  lastPolled: number;
}

/** Requests a round of `needers` symbols costs. */
const requestsFor = (b: SourceBuckets, needers: number) => Math.ceil(needers / b.perRequest);

const widen = (windowMs: number) => windowMs + Math.max(MIN_MARGIN_MS, windowMs * WINDOW_MARGIN);

/**
 * The buckets of a source's published limits: `cap` tokens at most (the per-second limit; a round of
 * `symbols` for minute and day, at most a tenth of the limit, at least 1) refilled at
 * `(limit + 1 - cap) / (widened window x 1.05)` per ms, so that no widened window ever grants more
 * than the limit.
 */
export function windowBuckets(
  limits: { perSecond?: number | null; perMinute?: number | null; perDay?: number | null },
  symbols: number,
  share = 1,
): WindowBucket[] {
  const out: WindowBucket[] = [];
  const windows: [number | null | undefined, number, Exclude<PlanLimit, null>][] = [
    [limits.perSecond, SECOND_MS, 'second'],
    [limits.perMinute, MINUTE_MS, 'minute'],
    [limits.perDay, DAY_MS, 'day'],
  ];
  for (const [full, windowMs, window] of windows) {
    if (full === null || full === undefined) continue;
    // This instance's part of the limit (cluster mode); the caps and rates below keep its windows
    // within that part, so the instances' parts together stay within the limit.
    const limit = full * share;
    const cap =
      window === 'second'
        ? Math.max(1, Math.floor(limit))
        : Math.max(1, Math.min(symbols, Math.floor(limit * BURST_SHARE)));
    const rate = Math.max(0, limit + 1 - cap) / (widen(windowMs) * RATE_HEADROOM);
    out.push({ window, rate, cap, tokens: cap });
  }
  return out;
}

/** The slowest of the buckets' rates (tokens per ms) and its window; Infinity when there is none. */
export function slowestWindow(windows: readonly WindowBucket[]): { rate: number; limitedBy: PlanLimit } {
  let rate = Infinity;
  let limitedBy: PlanLimit = null;
  for (const w of windows) {
    if (w.rate < rate) {
      rate = w.rate;
      limitedBy = w.window;
    }
  }
  return { rate, limitedBy };
}

/**
 * Symbols one request of `slot` serves in the loop: a free batch endpoint (Polygon's snapshot: one
 * request for all its symbols) serves up to `maxSymbols`; every other source one.
 */
function symbolsPerRequest(slot: SourceSlot, timeframe: Timeframe): number {
  const batch = slot.fetcher.capabilities.batchLatest;
  return batch && batchesLatest(slot.fetcher, timeframe) && batch.costPerSymbol === 0 ? batch.maxSymbols : 1;
}

export function createRequestPlanner(options: RequestPlannerOptions): RequestPlanner {
  const { intervalMs, breaker } = options;
  const t0 = options.now();
  const sources = new Map<SourceName, SourceBuckets>();
  const limitsOf = (slot: SourceSlot) => options.limitsFor?.(slot) ?? slot.fetcher.capabilities.rateLimits;
  const shareNow = (): number => {
    const v = options.share?.() ?? 1;
    return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 1;
  };
  let share = shareNow();
  for (const slot of options.sources) {
    sources.set(slot.name, {
      slot,
      windows: windowBuckets(limitsOf(slot), options.symbols, share),
      refilledAt: t0,
      needers: 0,
      perRequest: symbolsPerRequest(slot, options.timeframe),
    });
  }
  /** A new share (cluster membership changed): resize every bucket, keeping the tokens held (capped). */
  function reshare(next: number): void {
    share = next;
    for (const b of sources.values()) {
      const held = new Map(b.windows.map((w) => [w.window, w.tokens]));
      b.windows = windowBuckets(limitsOf(b.slot), options.symbols, share);
      for (const w of b.windows) w.tokens = Math.min(w.cap, held.get(w.window) ?? w.cap);
    }
  }
  /** Cycles begun (grants are stamped with it). */
  let cycle = 0;
  /**
   * Per symbol: its grant and when it was last granted a request (any source, epoch ms). A cycle
   * asks admit() for its symbols in the order of the cycle before (a new list is looked up in its
   * order first), so the record last found and the one that followed it last time are tried before
   * the Map (whose buckets and entries were cache misses per symbol at 20,000).
   */
  const polls = new SequentialMap<string, SymbolPolls>();
  const pollsOf = (symbol: string): SymbolPolls => {
    let p = polls.get(symbol);
    if (p === undefined) {
      p = { symbol, grantedBy: null, grantCycle: 0, lastPolled: -Infinity };
      polls.set(symbol, p);
    }
    return p;
  };
  /**
   * The symbols of the latest cycle, their records in the same order, and the set of them (returned
   * by every cycle that grants them all); rebuilt when the list changes.
   */
  let listed: readonly string[] = [];
  let listedPolls: SymbolPolls[] = [];
  let allDue: ReadonlySet<string> | null = null;
  /** The records of `symbols` in order (the previous cycle's when the list is the same, no lookups). */
  function pollsOfList(symbols: readonly string[]): SymbolPolls[] {
    let same = symbols.length === listed.length;
    for (let i = 0; same && i < symbols.length; i++) same = symbols[i] === listed[i];
    if (!same) {
      listed = [...symbols];
      listedPolls = listed.map(pollsOf);
      allDue = null;
    }
    return listedPolls;
  }

  function refill(b: SourceBuckets, now: number): void {
    const dt = Math.max(0, now - b.refilledAt);
    for (const w of b.windows) w.tokens = Math.min(w.cap, w.tokens + dt * w.rate);
    b.refilledAt = now;
  }
  /** Takes `n` tokens (default one) from every window, or none when one of them is short. */
  function take(b: SourceBuckets, n = 1): boolean {
    if (b.windows.some((w) => w.tokens < n)) return false;
    for (const w of b.windows) w.tokens -= n;
    return true;
  }

  function refreshMs(b: SourceBuckets, needers: number): number | null {
    if (needers === 0) return null;
    const { rate } = slowestWindow(b.windows);
    if (rate === Infinity) return intervalMs;
    return Math.max(intervalMs, Math.ceil(requestsFor(b, needers) / rate));
  }

  function planOf(b: SourceBuckets): SourcePlan {
    const l = b.slot.fetcher.capabilities.rateLimits;
    const { rate, limitedBy } = slowestWindow(b.windows);
    return {
      source: b.slot.name,
      limits: { perSecond: l.perSecond ?? null, perMinute: l.perMinute ?? null, perDay: l.perDay ?? null },
      limitedBy,
      plannedPerMinute: rate === Infinity ? null : Math.floor(rate * MINUTE_MS * 100) / 100,
      symbols: b.needers,
      refreshMs: refreshMs(b, b.needers),
    };
  }

  return {
    beginCycle(symbols, now) {
      cycle++;
      const closedAt = alignTs(now, options.timeframe);
      const nextShare = shareNow();
      if (Math.abs(nextShare - share) > 1e-9) reshare(nextShare);
      for (const b of sources.values()) {
        b.needers = 0;
        refill(b, now);
      }
      const records = pollsOfList(symbols);
      const all = (): ReadonlySet<string> => (allDue ??= new Set(listed));
      const first = options.sources.find((s) => skipReason(s, breaker, options.timeframe) === null);
      // No source may be asked: the cycle reports every symbol failed, with every skip as its reason.
      if (!first) return all();
      // Every symbol needs the first source that may be asked now.
      const b = sources.get(first.name);
      if (b === undefined) return new Set<string>(); // `sources` holds every slot of options.sources
      b.needers = symbols.length;
      // Every round affordable (taking them one by one would succeed for each): all are granted,
      // and their order does not matter. No per-symbol objects, no sort (issue 16: this ran for
      // every symbol every cycle at 20,000 symbols, where the budget is rarely short).
      if (take(b, requestsFor(b, symbols.length))) {
        // An indexed loop: a for-of over 20,000 records left an iterator result per symbol (40 B)
        // in the profile.
        for (let i = 0; i < records.length; i++) {
          const p = records[i];
          if (p === undefined) continue; // i < records.length
          p.grantedBy = b;
          p.grantCycle = cycle;
        }
        return all();
      }
      // Not asked since the latest bar closed first (the closing minute is fetched once more),
      // then the longest waiting; ties in configuration order.
      const order = records
        .map((p, i) => ({ p, i, at: p.lastPolled }))
        .sort((x, y) => {
          const xc = x.at < closedAt ? 0 : 1;
          const yc = y.at < closedAt ? 0 : 1;
          return xc - yc || x.at - y.at || x.i - y.i;
        });
      const due: string[] = [];
      // A free batch endpoint serves up to `perRequest` symbols with one request (one token).
      for (let i = 0; i < order.length; i += b.perRequest) {
        if (!take(b)) break;
        for (const { p } of order.slice(i, i + b.perRequest)) {
          p.grantedBy = b;
          p.grantCycle = cycle;
          due.push(p.symbol);
        }
      }
      return new Set(due);
    },
    admit(source, symbol, now) {
      const b = sources.get(source);
      if (!b) return true;
      const p = pollsOf(symbol);
      if (p.grantCycle === cycle && p.grantedBy === b) {
        p.grantCycle = 0;
        p.lastPolled = now;
        return true;
      }
      refill(b, now);
      if (!take(b)) return false;
      p.lastPolled = now;
      return true;
    },
    plan: () => [...sources.values()].map(planOf),
    refreshIntervals() {
      const out: Record<string, number | null> = {};
      for (const b of sources.values()) {
        const ms = refreshMs(b, b.needers);
        out[b.slot.name] = ms === null ? null : ms / 1000;
      }
      return out;
    },
    shortfalls(symbols) {
      return [...sources.values()]
        .filter((b) => (refreshMs(b, symbols) ?? 0) > intervalMs)
        .map((b) => ({ ...planOf(b), symbols, refreshMs: refreshMs(b, symbols) }));
    },
  };
}
