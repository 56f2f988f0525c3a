import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  assertNumberOption,
  resolveOptions,
  systemClock,
  type Scheduler,
  type TimerHandle,
} from '@pipeline/core';

export interface CollectionLoopOptions {
  /** Time between cycle starts, in ms; cycles start on multiples of it (wall-clock aligned). @default 1000 */
  intervalMs?: number;
  /** Clock and timers. @default systemClock (unref'd timers) */
  scheduler?: Scheduler;
  /** The work of one cycle; the next cycle is scheduled only after it settles. @default no-op */
  tick?: (cycle: CycleInfo) => Promise<void>;
  /** Called when a cycle ran past one or more tick boundaries; `skipped` boundaries were dropped. @default none */
  onOverrun?: (info: { cycle: number; durationMs: number; skipped: number }) => void;
  /** Called when `tick` rejects (the loop goes on). @default none */
  onError?: (error: unknown) => void;
  /**
   * Runs after each cycle when at least `idleMinMs` remain before the next boundary, with that idle
   * time (ms): work that should happen between cycles rather than inside them (the sidecar passes
   * {@link createIdleGc}). @default none
   */
  betweenCycles?: (idleMs: number) => void;
  /** Idle time (ms until the next boundary) `betweenCycles` needs. @default 50 */
  idleMinMs?: number;
}

export interface CycleInfo {
  /** 1-based cycle counter. */
  cycle: number;
  /** The tick boundary this cycle belongs to, epoch ms. */
  scheduledAt: number;
  /** When it really started, epoch ms (lateness = startedAt - scheduledAt). */
  startedAt: number;
}

export const COLLECTION_LOOP_DEFAULTS: Readonly<Required<CollectionLoopOptions>> = Object.freeze({
  intervalMs: 1000,
  scheduler: systemClock,
  tick: async () => undefined,
  onOverrun: () => undefined,
  onError: () => undefined,
  betweenCycles: () => undefined,
  idleMinMs: 50,
});

export interface CollectionLoop {
  start(): void;
  /** Stops scheduling; resolves once a running cycle has finished. */
  stop(): Promise<void>;
  readonly running: boolean;
  readonly cycles: number;
  readonly overruns: number;
}

/**
 * A wall-clock-aligned loop: each tick is scheduled with a one-shot timer at the next multiple of
 * `intervalMs` after the previous tick finished, so it never drifts (unlike setInterval) and a slow
 * cycle never overlaps the next one; the boundaries it ran past are counted as overruns and skipped.
 */
export function createCollectionLoop(options?: CollectionLoopOptions): CollectionLoop {
  const o = resolveOptions('createCollectionLoop', COLLECTION_LOOP_DEFAULTS, options);
  assertNumberOption('createCollectionLoop', 'intervalMs', o.intervalMs, 1);
  const clock = o.scheduler;
  let timer: TimerHandle | undefined;
  let running = false;
  let cycles = 0;
  let overruns = 0;
  let inFlight: Promise<void> | undefined;

  const nextBoundary = (after: number) => (Math.floor(after / o.intervalMs) + 1) * o.intervalMs;

  const schedule = (at: number) => {
    if (!running) return;
    timer = clock.setTimeout(() => fire(at), at - clock.now());
  };

  const fire = (scheduledAt: number) => {
    timer = undefined;
    if (!running) return;
    const startedAt = clock.now();
    const cycle = ++cycles;
    inFlight = (async () => {
      try {
        await o.tick({ cycle, scheduledAt, startedAt });
      } catch (err) {
        o.onError(err);
      }
      const end = clock.now();
      const next = nextBoundary(end);
      // Boundaries strictly between this cycle's own and the next one were never started.
      const skipped = Math.max(0, Math.round((next - scheduledAt) / o.intervalMs) - 1);
      if (skipped > 0) {
        overruns += skipped;
        o.onOverrun({ cycle, durationMs: end - startedAt, skipped });
      }
      inFlight = undefined;
      const idleMs = next - clock.now();
      if (running && idleMs >= o.idleMinMs) {
        try {
          o.betweenCycles(idleMs);
        } catch (err) {
          o.onError(err);
        }
      }
      schedule(next);
    })();
  };

  return {
    start() {
      if (running) return;
      running = true;
      schedule(nextBoundary(clock.now()));
    },
    async stop() {
      running = false;
      timer?.cancel();
      timer = undefined;
      await inFlight;
    },
    get running() {
      return running;
    },
    get cycles() {
      return cycles;
    },
    get overruns() {
      return overruns;
    },
  };
}

/** V8's gc(): a full collection without an argument, a young-generation one with `{ type: 'minor' }`. */
type V8Gc = (options?: { type: 'minor' }) => void;
let v8gc: V8Gc | null | undefined;

/** V8's `gc` function (`--expose-gc`, switched on here when the process was started without it). */
function exposedGc(): V8Gc | null {
  if (v8gc === undefined) {
    try {
      const exposed = (globalThis as { gc?: V8Gc }).gc;
      if (exposed) v8gc = exposed;
      else {
        setFlagsFromString('--expose-gc');
        v8gc = runInNewContext('gc') as V8Gc;
      }
    } catch {
      v8gc = null;
    }
  }
  return v8gc;
}

/**
 * A young-generation collection (V8 scavenge) now. Returns false (and does nothing) where V8
 * refuses it.
 */
export function youngGenerationGc(): boolean {
  const gc = exposedGc();
  if (!gc) return false;
  gc({ type: 'minor' });
  return true;
}

/** HTTP requests served in this process so far (the API's response hook counts them). */
let foregroundWork = 0;

/**
 * Counts one piece of foreground work (an HTTP request served). Under a steady stream of them the
 * idle GC stands aside: see {@link IDLE_GC_MAX_REQUEST_RATE}.
 */
export function noteForegroundWork(): void {
  foregroundWork++;
}

/**
 * Requests per second (since the previous idle time) above which the idle GC does nothing. Between
 * cycles is not idle for an API under load: its requests fill the young generation on their own (V8
 * collects it as it fills, as it would without us), and a forced collection, a full one above all,
 * lands in front of them. Measured (`BENCH_ONLY=load`, 100 symbols, 5,000 req/s from 10
 * connections, 2026-12-06 at load 1-2): p99 7-26 ms with the idle GC and 2 ms without it, the
 * unthrottled rate 16,000-21,000 against 28,800 req/s. A bot reading its signals a few times a second
 * stays far below.
 */
export const IDLE_GC_MAX_REQUEST_RATE = 50;

export interface IdleGcOptions {
  /**
   * Heap growth (bytes used after the young collection, over the size after the last full one) from
   * which a full collection runs between cycles, if the idle time allows. @default max(32 MB, 3/4 of the heap size after the last full collection), lowered to 3/4 of the growth at which V8 last collected on its own
   */
  growthBytes?: number;
  /**
   * The clock (ms) the request rate is measured on. A benchmark that runs 1 Hz cycles back to back
   * passes one that advances a second per cycle, so that the guard sees the rate the loop would
   * (one read per cycle is 1 request a second, not 60). @default performance.now
   */
  now?: () => number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * Garbage collection in the idle time between two cycles, so that its pauses do not land inside a
 * cycle in front of an HTTP reader (issue 16: GC pauses inside the cycle under 1 ms). After each
 * cycle the young generation is collected: the cycle's garbage is mostly there when it ends, and the
 * next cycle starts with an empty one, so while a cycle allocates less than the young generation holds
 * (about 16 MB, some 2,000 symbols) no scavenge lands inside it. What the young collections promote
 * fills the old generation; a full collection runs here too, if the idle time is at least twice what
 * the last ones took (the median of up to 5; 1 ms per MB of heap before the first), once the heap grew by `growthBytes` since the last full collection or once V8 began
 * marking on its own (a perf_hooks 'gc' entry of an incremental step: its final pause would land in a
 * cycle). When V8 still runs a full collection of its own (its heap limit is not exposed), the default
 * growth drops to 3/4 of the growth at which it did. Returns the function the loop calls with the idle time (ms) before its next boundary.
 */
export function createIdleGc(options: IdleGcOptions = {}): (idleMs: number) => void {
  let base = -1;
  /** The last few full collections' wall times, ms (a machine busy with other work inflates some). */
  const majorMs: number[] = [];
  let marking = false;
  let observer: PerformanceObserver | undefined;
  /** The heap after the young collection at the last two idle times: [performance.now(), bytes]. */
  const idleAt: [number, number][] = [];
  /** Growth (bytes) at which V8 collected on its own: learned, the default threshold stays under it. */
  let v8Growth = Infinity;
  /** V8 ran a full collection of its own since the last idle time (what it left is the new base). */
  let v8Collected = false;
  /** V8 collected on its own at about twice what its last full collection left (1,000 symbols: 49 -> ~100 MB). */
  const defaultGrowth = () => Math.min(Math.max(32 * 2 ** 20, 0.75 * base), v8Growth);
  const onV8Major = (startTime: number) => {
    // Its heap limit lay above the heap of the idle time before it: from now on the idle time
    // collects at 3/4 of that growth (at least 4 MB), before V8 does, inside a cycle, again. A
    // collection far below the threshold (V8's memory reducer when allocation slows) teaches nothing.
    const before = idleAt.filter(([t]) => t < startTime).at(-1);
    const grown = before ? before[1] - base : 0;
    if (base > 0 && grown >= defaultGrowth() / 2)
      v8Growth = Math.max(4 * 2 ** 20, Math.min(v8Growth, 0.75 * grown));
    v8Collected = true;
  };
  const clock = options.now ?? (() => performance.now());
  let seenWork = foregroundWork;
  let seenAt = clock();
  return (idleMs) => {
    const now = clock();
    const rate = ((foregroundWork - seenWork) * 1000) / Math.max(1, now - seenAt);
    seenWork = foregroundWork;
    seenAt = now;
    if (rate > IDLE_GC_MAX_REQUEST_RATE) return;
    const gc = exposedGc();
    if (!gc) return;
    if (!observer) {
      observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          const detail = (e as unknown as { detail?: { kind?: number; flags?: number } }).detail;
          if (detail?.kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) marking = true;
          else if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
            marking = false;
            // Not ours (gc() is flagged forced): V8 reached its own limit.
            if (((detail.flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) === 0)
              onV8Major(e.startTime);
          }
        }
      });
      observer.observe({ entryTypes: ['gc'] });
    }
    gc({ type: 'minor' });
    const used = getHeapStatistics().used_heap_size;
    idleAt.push([performance.now(), used]);
    if (idleAt.length > 2) idleAt.shift();
    if (v8Collected) {
      base = used;
      v8Collected = false;
      return;
    }
    // The first idle time collects the whole heap if it can: the baseline is then the live heap,
    // not what the start-up left, and V8 sets its own limit from that collection (before it, the
    // limit came from start-up and V8 could reach it before the threshold here did).
    const first = base < 0;
    if (first) base = used;
    const growth = options.growthBytes ?? defaultGrowth();
    // The median of the last few, so that one collection descheduled by other processes does not
    // keep the next ones out of every idle time (V8 then collects inside a cycle instead); before
    // the first one is timed, a full collection is expected to take 1 ms per MB of heap.
    const expectMs = majorMs.length > 0 ? median(majorMs) : used / 2 ** 20;
    if ((first || marking || used - base >= growth) && idleMs >= 2 * expectMs + 10) {
      const t0 = performance.now();
      gc(); // full (Node 20's V8 reads any argument, { type: 'major' } too, as minor)
      majorMs.push(performance.now() - t0);
      if (majorMs.length > 5) majorMs.shift();
      marking = false;
      base = getHeapStatistics().used_heap_size;
    }
  };
}
