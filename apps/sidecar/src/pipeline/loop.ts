import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
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
   * Runs after each cycle, and once before the first, when at least `idleMinMs` remain before the next
   * boundary, with that idle time (ms): work that should happen between cycles rather than inside them
   * (the sidecar passes {@link createIdleGc}). @default none
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

  const idle = (idleMs: number) => {
    if (!running || idleMs < o.idleMinMs) return;
    try {
      o.betweenCycles(idleMs);
    } catch (err) {
      o.onError(err);
    }
  };

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
      idle(next - clock.now());
      schedule(next);
    })();
  };

  return {
    start() {
      if (running) return;
      running = true;
      // The idle time before the first cycle is idle time too: what the start-up (bootstrap, warm-up)
      // left in the young generation would otherwise be collected inside the first cycle. On the next
      // turn, not in the caller's.
      timer = clock.setTimeout(() => {
        timer = undefined;
        if (!running) return;
        const first = nextBoundary(clock.now());
        idle(first - clock.now());
        schedule(first);
      }, 0);
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
   * Heap growth (bytes used outside the young generation, over what the last full collection left) from
   * which a full collection runs between cycles, if the idle time allows. @default while the cycles fit in the young generation and a full collection costs at most 2 % of the time since the last, max(6 MB, 7.5 % of what the last full collection left), else max(32 MB, 75 % of it); lowered to 3/4 of the growth at which V8 last began marking or collected on its own
   */
  growthBytes?: number;
  /**
   * How full (a fraction of its capacity) the young generation may be at the next cycle's end: the
   * idle time collects it when what it holds plus twice the most any of the last periods between
   * two idle times allocated would pass that. Under V8's own trigger (its scavenge task starts at
   * 80 %). @default 0.7
   */
  youngFill?: number;
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

/** The heap in use (bytes): the young generation (V8's new space) and its capacity, and the rest. */
export interface HeapFill {
  youngUsed: number;
  youngCapacity: number;
  /** Everything outside the young generation (old, code and large-object spaces). */
  oldUsed: number;
}

/** {@link HeapFill} now, from `v8.getHeapSpaceStatistics()` (about 1 us). */
export function heapFill(): HeapFill {
  let youngUsed = 0;
  let youngCapacity = 0;
  let oldUsed = 0;
  for (const s of getHeapSpaceStatistics()) {
    if (s.space_name === 'new_space') {
      youngUsed += s.space_used_size;
      // One semi-space: what can be allocated before a scavenge (space_size counts both halves).
      youngCapacity += s.space_used_size + s.space_available_size;
    } else if (s.space_name === 'new_large_object_space') youngUsed += s.space_used_size;
    else oldUsed += s.space_used_size;
  }
  return { youngUsed, youngCapacity, oldUsed };
}

/** How many periods between idle times the young collection's forecast looks back on. */
const YOUNG_PERIODS = 10;

/**
 * Garbage collection in the idle time between two cycles, so that its pauses do not land inside a
 * cycle in front of an HTTP reader (issue 16: GC pauses inside the cycle under 1 ms).
 *
 * Young generation: collected when the next cycle could fill it, not after every cycle. What it holds
 * plus twice the most that any of the last 10 periods between idle times allocated (a period in which
 * V8 collected it on its own counts as its whole capacity) must stay under `youngFill` of its capacity,
 * or it is collected now. A collection after every cycle promoted to the old generation whatever two
 * consecutive cycles kept (a symbol's state that lives a few cycles), which then needed full
 * collections; at 100 symbols the young generation now holds some 30 cycles. A cycle that allocates
 * more than the young generation holds (about 16 MB, some 2,000 symbols) still collects inside it.
 *
 * Old generation: a full collection runs here too, if the idle time is at least twice what the last
 * ones took (the median of up to 5; 1 ms per MB of heap before the first), once the heap outside the
 * young generation grew by `growthBytes` since the last full collection or once V8 began marking on its
 * own (a perf_hooks 'gc' entry of an incremental step: its final pause would land in a cycle). The
 * young collection runs first (what it promotes counts). While the cycles fit in the young generation
 * (and a full collection costs at most 2 % of the time since the last) the default growth stays under
 * the least V8 waits for before it begins marking (see `defaultGrowth`);
 * when V8 still begins marking or collects on its own (its heap limit is not exposed), it drops to 3/4
 * of the growth at which it did. The first call collects the whole heap if the idle time allows.
 *
 * Returns the function the loop calls with the idle time (ms) before its next boundary.
 */
export function createIdleGc(options: IdleGcOptions = {}): (idleMs: number) => void {
  const youngFill = options.youngFill ?? 0.7;
  const clock = options.now ?? (() => performance.now());
  assertNumberOption('createIdleGc', 'youngFill', youngFill, 0, 1);
  let base = -1;
  /** The last few full collections' wall times, ms (a machine busy with other work inflates some). */
  const majorMs: number[] = [];
  let marking = false;
  let observer: PerformanceObserver | undefined;
  /** The heap outside the young generation at the last two idle times: [performance.now(), bytes]. */
  const idleAt: [number, number][] = [];
  /** Growth (bytes) at which V8 collected on its own: learned, the default threshold stays under it. */
  let v8Growth = Infinity;
  /** V8 ran a full collection of its own since the last idle time (what it left is the new base). */
  let v8Collected = false;
  /** V8 ran a young collection of its own since the last idle time. */
  let v8Scavenged = false;
  /** The young generation's bytes in use when the last idle time was done, -1 before the first. */
  let youngAfter = -1;
  /** Bytes allocated in the young generation in each of the last periods between two idle times (-1: V8 collected it meanwhile). */
  const periods: number[] = [];
  /** The cycles fit in the young generation (no collection of V8's own needs to land in one). */
  let fits = false;
  /**
   * V8 starts marking (incremental, with pauses that would land in cycles) once the old generation grew
   * by max(8 MB, (factor - 1) x its size after the last full collection), the factor between 1.1 and 4
   * from how fast it collects against how fast the program allocates: a 1 Hz loop allocates slowly, so
   * about 1.1. While the cycles fit in the young generation, the full collection comes at 3/4 of the
   * lowest of those; when they do not, V8 collects inside them anyway and the idle time waits for
   * 3/4 of the last heap (at least 32 MB): fewer full collections.
   */
  const defaultGrowth = () =>
    Math.min(
      fits && cheap() ? Math.max(6 * 2 ** 20, 0.075 * base) : Math.max(32 * 2 ** 20, 0.75 * base),
      v8Growth,
    );
  /** When the last full collection ran (ours or V8's), on `clock`. */
  let lastFullAt = -Infinity;
  /**
   * The early threshold only while a full collection costs at most 2 % of the time since the last
   * one (on `clock`): a large heap (20,000 symbols, 300 MB, a few hundred ms per full collection)
   * that fits its cycles in a large young generation (--max-semi-space-size) would otherwise collect
   * every other cycle; V8 itself, collecting fast against a slow promotion, waits longer there.
   */
  const cheap = () => (majorMs.length > 0 ? median(majorMs) : 0) <= 0.02 * (clock() - lastFullAt);
  const learn = (startTime: number) => {
    // Its heap limit lay above the heap of the idle time before it: from now on the idle time
    // collects at 3/4 of that growth (at least 4 MB), before V8 does, inside a cycle, again. A
    // collection far below the threshold (V8's memory reducer when allocation slows) teaches nothing.
    const before = idleAt.filter(([t]) => t < startTime).at(-1);
    const grown = before ? before[1] - base : 0;
    if (base > 0 && grown >= defaultGrowth() / 2)
      v8Growth = Math.max(4 * 2 ** 20, Math.min(v8Growth, 0.75 * grown));
  };
  const onV8Major = (startTime: number) => {
    learn(startTime);
    v8Collected = true;
  };
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
          // Not ours (gc() is flagged forced): V8 collected on its own.
          const own = ((detail?.flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) === 0;
          if (detail?.kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) {
            // V8 began marking on its own: its limit lay under the threshold, learn it as from a full
            // collection of its own; the next idle time finishes the marking.
            if (!marking) learn(e.startTime);
            marking = true;
          } else if (detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) {
            if (own) v8Scavenged = true;
          } else if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
            marking = false;
            if (own) onV8Major(e.startTime);
          }
        }
      });
      observer.observe({ entryTypes: ['gc'] });
    }
    const heap = heapFill();
    // What the young generation took since the last idle time: unknown when V8 emptied it in
    // between (it filled up: count a whole one).
    if (youngAfter >= 0) {
      const scavenged = v8Scavenged || heap.youngUsed < youngAfter;
      periods.push(scavenged ? -1 : heap.youngUsed - youngAfter);
      if (periods.length > YOUNG_PERIODS) periods.shift();
    }
    v8Scavenged = false;
    const measured = periods.filter((p) => p >= 0);
    const nextPeriod =
      measured.length === 0 || measured.length < periods.length ? heap.youngCapacity : Math.max(...measured);
    // A period in which V8 collected the young generation on its own may have done so between two
    // cycles (the loop's other work between them allocates too): the cycles fit when the periods
    // measured do.
    fits = measured.length > 0 && Math.max(...measured) < youngFill * heap.youngCapacity;
    // The young generation first: what it promotes counts in the growth the full collection waits for
    // (a young generation that held some 20 cycles can promote several MB at once).
    const young = heap.youngUsed + 2 * nextPeriod > youngFill * heap.youngCapacity;
    if (young) gc({ type: 'minor' });
    const used = young ? heapFill().oldUsed : heap.oldUsed;
    idleAt.push([performance.now(), used]);
    if (idleAt.length > 2) idleAt.shift();
    let full = false;
    if (v8Collected) {
      base = used;
      v8Collected = false;
      lastFullAt = now;
    } else {
      // The first idle time collects the whole heap if it can: the baseline is then the live heap,
      // not what the start-up left, and V8 sets its own limit from that collection (before it, the
      // limit came from start-up and V8 could reach it before the threshold here did).
      const first = base < 0;
      if (first) base = used;
      const growth = options.growthBytes ?? defaultGrowth();
      // The median of the last few, so that one collection descheduled by other processes does not
      // keep the next ones out of every idle time (V8 then collects inside a cycle instead); before
      // the first one is timed, a full collection is expected to take 1 ms per MB of heap.
      const expectMs = majorMs.length > 0 ? median(majorMs) : (used + heap.youngUsed) / 2 ** 20;
      full = (first || marking || used - base >= growth) && idleMs >= 2 * expectMs + 10;
    }
    if (full) {
      const t0 = performance.now();
      gc(); // full (Node 20's V8 reads any argument, { type: 'major' } too, as minor)
      majorMs.push(performance.now() - t0);
      if (majorMs.length > 5) majorMs.shift();
      marking = false;
      base = heapFill().oldUsed;
      lastFullAt = now;
    }
    youngAfter = full || young ? heapFill().youngUsed : heap.youngUsed;
  };
}
