// Late finalisation: every finished period must end as the provider's final bar, from one source,
// marked final. The loop finalises a bar when the first poll after its close holds it (the planner
// asks every symbol once more after each close); when that answer lacks it (a fallback that lags,
// an outage, an empty answer), the period's last forming version would stay in the cache and the
// store for good. The finalizer keeps those periods in a queue and fetches each one again (history
// for [ts, ts + timeframe), sources in fallback order, within the request planner's budget); the
// bar it gets replaces the whole stored bar (prices and volume from that one source: sources are
// never mixed within a bar) and is marked final. At start the newest stored rows are scanned for
// finished periods still marked forming (a restart), not only the newest row.
import { TIMEFRAME_MS, type Bar, type SourceName, type Timeframe } from '@pipeline/core';
import { type BarStorePort, type BreakerPort, type SourceSlot, type ValidatorPort } from '../ports';
import { type Logger } from '../wiring/logger';
import { skipReason } from './fallback';
import { createSlicer } from './slice';

/** Stored rows per symbol scanned at start for unfinished periods. */
export const FINALIZE_SCAN_BARS = 1_000;
/** A period is asked for again this long after it ended, so the provider has closed it too. */
export const FINALIZE_GRACE_MS = 5_000;
/** Attempts per period before it is given up (logged); a period is retried once per kick. */
export const FINALIZE_MAX_ATTEMPTS = 20;

export interface FinalizerOptions {
  timeframe: Timeframe;
  sources: readonly SourceSlot[];
  breaker: BreakerPort;
  validator: Pick<ValidatorPort, 'validate'>;
  store: Pick<BarStorePort, 'latest'>;
  /** Writes the final bars (store and cache: pipeline/sinks). */
  write: (bars: readonly Bar[]) => Promise<void>;
  /** The request planner's word on asking a source now (its budget). @default always */
  admit?: (source: SourceName, symbol: string, now: number) => boolean;
  now: () => number;
  log: Logger;
}

export interface Finalizer {
  /** Notes accepted bars: a forming bar's period joins the queue, a final bar leaves it. */
  note(bars: readonly Bar[]): void;
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
}

const keyOf = (symbol: string, ts: number) => `${symbol}\u0000${ts}`;

export function createFinalizer(options: FinalizerOptions): Finalizer {
  const { timeframe, log } = options;
  const tfMs = TIMEFRAME_MS[timeframe];
  /** Unfinished periods: symbol and ts, with the attempts spent on them. */
  const queue = new Map<string, { symbol: string; ts: number; attempts: number }>();

  /** Queues the periods over by `now` still marked forming among the newest FINALIZE_SCAN_BARS of `bars`. */
  function queueForming(symbol: string, bars: readonly Bar[], now: number): void {
    for (let i = Math.max(0, bars.length - FINALIZE_SCAN_BARS); i < bars.length; i++) {
      const b = bars[i];
      if (b && !b.final && b.ts + tfMs <= now) {
        const key = keyOf(symbol, b.ts);
        if (!queue.has(key)) queue.set(key, { symbol, ts: b.ts, attempts: 0 });
      }
    }
  }
  let running: Promise<void> | undefined;

  async function finalOf(symbol: string, ts: number): Promise<Bar | null> {
    for (const slot of options.sources) {
      if (skipReason(slot, options.breaker, timeframe) !== null) continue;
      if (options.admit && !options.admit(slot.name, symbol, options.now())) continue;
      try {
        const bars = await options.breaker.execute(slot.name, (signal) =>
          slot.fetcher.fetchHistory({ symbol, timeframe, from: ts, to: ts + tfMs, signal }),
        );
        const bar = bars.find((b) => b.ts === ts);
        if (!bar) continue;
        // The period is over: this is the source's final word on it, whatever its flag said.
        const v = options.validator.validate({ ...bar, final: true });
        if (v.status !== 'rejected') return v.bar;
      } catch {
        // The next source is tried; the period stays queued when none has it.
      }
    }
    return null;
  }

  async function pass(): Promise<void> {
    const due = options.now() - FINALIZE_GRACE_MS;
    const done: Bar[] = [];
    for (const [key, item] of [...queue]) {
      if (item.ts + tfMs > due) continue;
      const bar = await finalOf(item.symbol, item.ts);
      if (bar) {
        queue.delete(key);
        done.push(bar);
      } else if (++item.attempts >= FINALIZE_MAX_ATTEMPTS) {
        queue.delete(key);
        log.warn('no source had the final bar of a finished period; it stays marked forming', {
          symbol: item.symbol,
          ts: item.ts,
          attempts: item.attempts,
        });
      }
    }
    if (done.length > 0) {
      await options.write(done);
      log.info('finished periods finalised from the provider', { bars: done.length });
    }
  }

  /**
   * The key note() built last per symbol: the forming bar comes again every cycle with the same ts, and
   * the kept string (its hash computed once) spares building and hashing a new one per bar.
   */
  const lastKey = new Map<string, { ts: number; key: string }>();
  const noteKey = (symbol: string, ts: number): string => {
    const last = lastKey.get(symbol);
    if (last?.ts === ts) return last.key;
    const key = keyOf(symbol, ts);
    if (last) {
      last.ts = ts;
      last.key = key;
    } else lastKey.set(symbol, { ts, key });
    return key;
  };

  return {
    note(bars) {
      for (const b of bars) {
        if (b.timeframe !== timeframe) continue;
        const key = noteKey(b.symbol, b.ts);
        if (b.final) queue.delete(key);
        else if (!queue.has(key)) queue.set(key, { symbol: b.symbol, ts: b.ts, attempts: 0 });
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
  };
}
