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
