// Time slicing for long start-up work (bootstrap planning and chunks, warm start, cache fill, store
// scan): the loop is handed back every few milliseconds so HTTP (/health) and timers keep being
// served. An `await` on an already-settled promise (a synchronous store behind an async port) only
// runs microtasks and never lets the loop turn; setImmediate does.
import { performance } from 'node:perf_hooks';

/** The longest stretch of start-up work between two turns of the event loop, ms. */
export const SLICE_MS = 10;

/** Returns a function to await between pieces of work: it yields to the loop once `sliceMs` has passed since the last turn. */
export function createSlicer(sliceMs = SLICE_MS): () => Promise<void> | undefined {
  let since = performance.now();
  return () => {
    if (performance.now() - since < sliceMs) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        since = performance.now();
        resolve();
      }),
    );
  };
}
