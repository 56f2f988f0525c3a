// Late finalisation: every finished period must end as the provider's final bar, from one source,
// marked final. The loop finalises a bar when the first poll after its close holds it (the planner
// asks every symbol once more after each close); when that answer lacks it (a fallback that lags,
// an outage, an empty answer), the period's last forming version would stay in the cache and the
// store for good. The finalizer keeps those periods in a queue and fetches each one again (history
// for [ts, ts + timeframe), sources in fallback order, within the request planner's budget); the
// bar it gets replaces the whole stored bar (prices and volume from that one source: sources are
// never mixed within a bar) and is marked final. At start the newest stored rows are scanned for
// finished periods still marked forming (a restart), not only the newest row.
//
// A period is not dropped because its sources are down: it is retried at every kick for its first
// FINALIZE_FAST_ATTEMPTS asks, then with a backoff doubling from 2 s to FINALIZE_MAX_BACKOFF_MS, until
// its final bar comes or the period is `giveUpAfterMs` old (history that old may be out of the
// providers' reach); only an ask that reached a source counts (a source skipped by its breaker or
// the planner's budget is not asked). What is given up is counted and exposed (stats(), /health) and
// logged; its row stays stored, marked forming, and a restart's scan queues it again. A write of
// final bars that fails puts them back in the queue.
import { TIMEFRAME_MS, type Bar, type SourceName, type Timeframe } from '@pipeline/core';
import {
  validateHistory,
  type BarStorePort,
  type BreakerPort,
  type SourceSlot,
  type ValidatorPort,
} from '../ports';
import { type Logger } from '../wiring/logger';
import { skipReason } from './fallback';
import { createSlicer } from './slice';

/** Stored rows per symbol scanned at start for unfinished periods. */
export const FINALIZE_SCAN_BARS = 1_000;
/** A period is asked for again this long after it ended, so the provider has closed it too. */
export const FINALIZE_GRACE_MS = 5_000;
/** Asks per period retried at every kick (about 20 s at 1 Hz) before the backoff starts. */
export const FINALIZE_FAST_ATTEMPTS = 20;
/** The longest wait between two asks for one period, ms (the backoff doubles from 2 s up to it). */
export const FINALIZE_MAX_BACKOFF_MS = 5 * 60_000;
/** A period still not final this long after it ended is given up (counted, logged), ms. */
export const FINALIZE_GIVE_UP_MS = 24 * 3_600_000;

/** The finaliser's counters, for /health. */
export interface FinalizerStats {
  /** Periods waiting for their final bar. */
  pending: number;
  /** Of those, the ones asked at least once without getting their final bar (a source down or lacking it). */
  retrying: number;
  /** Periods given up since start (`giveUpAfterMs` old and still not final; the row stays forming). */
  givenUp: number;
  /** The period given up last, or null. */
  lastGivenUp: { symbol: string; ts: number } | null;
  /** Start (epoch ms) of the oldest pending period, or null. */
  oldestPendingTs: number | null;
}

export interface FinalizerOptions {
  timeframe: Timeframe;
  sources: readonly SourceSlot[];
  breaker: BreakerPort;
  /**
   * Judges the fetched final bar as history, from a blank state (validateSeries): the live series has
   * moved past the period by then, and its order rule would refuse the older bar.
   */
  validator: Pick<ValidatorPort, 'validateSeries'>;
  store: Pick<BarStorePort, 'latest'>;
  /** Writes the final bars (store and cache: pipeline/sinks). */
  write: (bars: readonly Bar[]) => Promise<void>;
  /** The request planner's word on asking a source now (its budget). @default always */
  admit?: (source: SourceName, symbol: string, now: number) => boolean;
  now: () => number;
  log: Logger;
  /** Age (ms after the period ended) at which a period still not final is given up. @default FINALIZE_GIVE_UP_MS (24 h) */
  giveUpAfterMs?: number;
}

export interface Finalizer {
  /**
   * Notes accepted bars, `bars[from, to)` (a range of the cycle's write list: no copy per symbol): a
   * forming bar's period joins the queue, a final bar leaves it.
   */
  note(bars: readonly Bar[], from?: number, to?: number): void;
  /** Queues the finished periods still marked forming among the newest stored rows of `symbols`. */
  scanStore(symbols: readonly string[]): Promise<number>;
  /**
   * Queues the finished periods still marked forming among `bars`, a symbol's newest stored rows
   * (the warm start's read, so the store is not read again); returns how many joined the queue.
   */
  scanBars(symbol: string, bars: readonly Bar[]): number;
  /** Fetches the finished periods of the queue once (unless a run is going on). */
  kick(): void;
  /** Resolves when the running pass (if any) is over. */
  idle(): Promise<void>;
  /** Periods waiting for their final bar. */
  readonly pending: number;
  /** Pending, retrying and given-up periods, for /health (walks the queue: O(pending)). */
  stats(): FinalizerStats;
}

/** The wait after the `attempts`-th failed ask: none for the fast ones, then 2 s, 4 s, ... up to the cap. */
export function finalizeBackoffMs(attempts: number): number {
  if (attempts < FINALIZE_FAST_ATTEMPTS) return 0;
  return Math.min(FINALIZE_MAX_BACKOFF_MS, 2_000 * 2 ** (attempts - FINALIZE_FAST_ATTEMPTS));
}

interface QueueItem {
  symbol: string;
  ts: number;
  /** Asks that reached a source and did not bring the final bar. */
  attempts: number;
  /** Not asked again before this time, epoch ms (the backoff). */
  nextAt: number;
  /** Still in the queue (false once removed): lets note() skip the queue lookup. */
  queued: boolean;
}

/** The period a symbol's bars were last noted for, with its key and queue item (if queued then). */
interface LastNote {
  ts: number;
  key: string;
  item: QueueItem | null;
}

const keyOf = (symbol: string, ts: number) => `${symbol}\u0000${ts}`;

export function createFinalizer(options: FinalizerOptions): Finalizer {
  const { timeframe, log } = options;
  const tfMs = TIMEFRAME_MS[timeframe];
  const giveUpAfterMs = options.giveUpAfterMs ?? FINALIZE_GIVE_UP_MS;
  /** Unfinished periods: symbol and ts, with the asks spent on them. */
  const queue = new Map<string, QueueItem>();
  let givenUp = 0;
  let lastGivenUp: FinalizerStats['lastGivenUp'] = null;
  const enqueue = (key: string, symbol: string, ts: number): QueueItem => {
    let item = queue.get(key);
    if (item === undefined) queue.set(key, (item = { symbol, ts, attempts: 0, nextAt: 0, queued: true }));
    return item;
  };
  const dequeue = (key: string): void => {
    const item = queue.get(key);
    if (item === undefined) return;
    item.queued = false;
    queue.delete(key);
  };

  /** Queues the periods over by `now` still marked forming among the newest FINALIZE_SCAN_BARS of `bars`. */
  function queueForming(symbol: string, bars: readonly Bar[], now: number): void {
    for (let i = Math.max(0, bars.length - FINALIZE_SCAN_BARS); i < bars.length; i++) {
      const b = bars[i];
      if (b && !b.final && b.ts + tfMs <= now) {
        enqueue(keyOf(symbol, b.ts), symbol, b.ts);
      }
    }
  }
  let running: Promise<void> | undefined;

  /** The final bar from the first source that has it; `asked` when any source was asked at all. */
  async function finalOf(symbol: string, ts: number): Promise<{ bar: Bar | null; asked: boolean }> {
    let asked = false;
    for (const slot of options.sources) {
      if (skipReason(slot, options.breaker, timeframe) !== null) continue;
      if (options.admit && !options.admit(slot.name, symbol, options.now())) continue;
      asked = true;
      try {
        const bars = await options.breaker.execute(slot.name, (signal) =>
          slot.fetcher.fetchHistory({ symbol, timeframe, from: ts, to: ts + tfMs, signal }),
        );
        const bar = bars.find((b) => b.ts === ts);
        if (!bar) continue;
        // The period is over: this is the source's final word on it, whatever its flag said.
        const [valid] = validateHistory(options.validator, [{ ...bar, final: true }]);
        if (valid) return { bar: valid, asked };
      } catch {
        // The next source is tried; the period stays queued when none has it.
      }
    }
    return { bar: null, asked };
  }

  async function pass(): Promise<void> {
    const now = options.now();
    const due = now - FINALIZE_GRACE_MS;
    const done: Bar[] = [];
    const dropped: QueueItem[] = [];
    // A Map iterates entries added or deleted meanwhile correctly (note() runs between the awaits).
    for (const [key, item] of queue) {
      if (item.ts + tfMs > due || item.nextAt > now) continue;
      const { bar, asked } = await finalOf(item.symbol, item.ts);
      if (bar) {
        dequeue(key);
        done.push(bar);
        continue;
      }
      if (item.ts + tfMs + giveUpAfterMs <= options.now()) {
        dequeue(key);
        dropped.push(item);
        continue;
      }
      if (asked) {
        item.attempts++;
        item.nextAt = options.now() + finalizeBackoffMs(item.attempts);
      }
    }
    if (dropped.length > 0) {
      givenUp += dropped.length;
      const last = dropped[dropped.length - 1];
      if (last) lastGivenUp = { symbol: last.symbol, ts: last.ts };
      log.warn(
        'no source had the final bar of finished periods within the give-up age; they stay stored as forming',
        {
          periods: dropped.length,
          givenUpTotal: givenUp,
          giveUpAfterMs,
          first: { symbol: dropped[0]?.symbol, ts: dropped[0]?.ts, attempts: dropped[0]?.attempts },
        },
      );
    }
    if (done.length > 0) {
      try {
        await options.write(done);
      } catch (err) {
        // Not written: back in the queue (the bars are fetched again), not lost.
        for (const b of done) enqueue(keyOf(b.symbol, b.ts), b.symbol, b.ts);
        throw err;
      }
      log.info('finished periods finalised from the provider', { bars: done.length });
    }
  }

  /**
   * The key note() built last per symbol: the forming bar comes again every cycle with the same ts, and
   * the kept string (its hash computed once) spares building and hashing a new one per bar.
   */
  const lastNote = new Map<string, LastNote>();
  /** The symbol's last-noted period, moved to `ts` (the key is built once per period, not per bar). */
  const noteOf = (symbol: string, ts: number): LastNote => {
    let last = lastNote.get(symbol);
    if (last === undefined) lastNote.set(symbol, (last = { ts, key: keyOf(symbol, ts), item: null }));
    else if (last.ts !== ts) {
      last.ts = ts;
      last.key = keyOf(symbol, ts);
      last.item = null;
    }
    return last;
  };

  return {
    note(bars, from = 0, to = bars.length) {
      for (let i = from; i < to; i++) {
        const b = bars[i];
        if (b === undefined || b.timeframe !== timeframe) continue;
        const last = noteOf(b.symbol, b.ts);
        if (b.final) {
          dequeue(last.key);
          last.item = null;
        } else if (last.item === null || !last.item.queued) {
          // A forming bar of the period noted last time, still queued: nothing to look up (every
          // symbol's forming bar comes every cycle).
          last.item = enqueue(last.key, b.symbol, b.ts);
        }
      }
    },
    async scanStore(symbols) {
      const before = queue.size;
      const now = options.now();
      const slice = createSlicer();
      for (const symbol of symbols) {
        await slice();
        queueForming(symbol, await options.store.latest(symbol, timeframe, FINALIZE_SCAN_BARS), now);
      }
      return queue.size - before;
    },
    scanBars(symbol, bars) {
      const before = queue.size;
      queueForming(symbol, bars, options.now());
      return queue.size - before;
    },
    kick() {
      if (queue.size > 0 && !running)
        running = pass()
          .catch((err: unknown) => log.warn('late finalisation failed', { err }))
          .finally(() => (running = undefined));
    },
    async idle() {
      await running;
    },
    get pending() {
      return queue.size;
    },
    stats() {
      let retrying = 0;
      let oldest: number | null = null;
      for (const item of queue.values()) {
        if (item.attempts > 0) retrying++;
        if (oldest === null || item.ts < oldest) oldest = item.ts;
      }
      return { pending: queue.size, retrying, givenUp, lastGivenUp, oldestPendingTs: oldest };
    },
  };
}
