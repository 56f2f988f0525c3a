// The cycle's yield gate: answers that arrive together (a batch answer, or answers that needed no
// I/O) are processed back to back as microtasks, and an HTTP read is only served in a turn of the
// event loop. Without a pause it would wait for the whole batch, then for whatever the cycle does
// next (the next batch request, the write step). The gate bounds that wait (issue 16: provider answer
// to signal readable over HTTP, p99 < 2 ms).
import { performance } from 'node:perf_hooks';

/**
 * Wall time (ms) the cycle may spend processing answers back to back before it yields to the event
 * loop: a request that arrives meanwhile waits at most about this long (plus one answer). A yield
 * with nothing pending costs about 2 us, so 0.25 ms slices cost under 1 % of the cycle.
 */
export const YIELD_AFTER_MS = 0.25;

export interface YieldGate {
  /**
   * Undefined when open (no extra await), else the current pause: one promise shared by every
   * waiter (no closure or promise per waiter), settled after a turn of the event loop. Call pass()
   * again once it settled, until it returns undefined: another worker may have closed the gate again
   * before this one resumed. `for (let p = gate.pass(); p; p = gate.pass()) await p;`
   */
  pass(): Promise<void> | undefined;
  /** Call after processing an answer: closes the gate once the slice is used up. */
  worked(): void;
  /**
   * Call after the last answer of a batch: undefined when nothing was processed since the last
   * pause, else the pause (as pass(): wait on pass() after it), which settles after one turn of the
   * event loop (pending I/O served).
   */
  settle(): Promise<void> | undefined;
}

/**
 * A gate shared by every worker of one cycle: after `afterMs` of work they all pause on one
 * setImmediate, which runs after the poll phase, so requests that came in meanwhile are read and
 * answered in between.
 */
export function createYieldGate(afterMs: number = YIELD_AFTER_MS): YieldGate {
  let gate: Promise<void> | undefined;
  let sliceStart = performance.now();
  /** An answer was processed since the gate last opened. */
  let dirty = false;
  const resume = () => {
    if (sliceStart === 0) sliceStart = performance.now();
  };
  const close = () => {
    sliceStart = 0;
    dirty = false;
    gate = new Promise<void>((r) =>
      setImmediate(() => {
        gate = undefined;
        r();
      }),
    );
  };
  const pass = () => {
    if (!gate) resume();
    return gate;
  };
  return {
    pass,
    worked() {
      dirty = true;
      if (!gate && performance.now() - sliceStart >= afterMs) close();
    },
    settle() {
      if (!gate && dirty) close();
      return pass();
    },
  };
}
