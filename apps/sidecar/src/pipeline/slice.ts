// Time slicing for long start-up work (bootstrap planning and chunks, warm start, cache fill, store
// scan): the loop is handed back every few milliseconds so HTTP (/health) and timers keep being
// served. An `await` on an already-settled promise (a synchronous store behind an async port) only
// runs microtasks and never lets the loop turn; setImmediate does.
import { performance } from 'node:perf_hooks';

/**
 * The longest stretch of start-up work between two turns of the event loop, ms. A garbage
 * collection landing in a stretch adds its pause (up to about 20 ms at start-up), and a stretch run
 * from an I/O callback can be followed by one run from the turn's immediates: kept well under the
 * 50 ms a /health answer may take.
 */
export const SLICE_MS = 5;

/**
 * The loop's busy clock, ms: wall time less the time it spent idle waiting for I/O (libuv counts
 * it when its poll returns, so it is current in every callback).
 */
const busyNow = (): number => performance.now() - performance.eventLoopUtilization().idle;

// One clock and one turn for every slicer: the bootstrap, the warm start behind it and a cache fill
// run interleaved on the same loop (a write's reply settles a group, warms its symbol and goes on
// with the next group in one callback), so each budget counts the others' work since the loop last
// turned, whoever made it turn (a store's reply, a timer, a slicer), as seen at the turn's check phase.
/** busyNow() at the last turn seen. */
let turnAt = busyNow();
/** Slicers that asked for a turn, resumed at the second check phase from now. */
let asked: (() => void)[] = [];
/** Slicers resumed at the next check phase. */
let due: (() => void)[] = [];
let watching = false;

function watch(): void {
  if (watching) return;
  watching = true;
  setImmediate(turned);
}

/**
 * A check phase (immediates): the loop has turned. A slicer waits for the second one from its ask,
 * so that the loop's timers and its poll for I/O (a /health request) run before it resumes: the
 * first may come right after the I/O callback that held the loop (poll, then check), with no poll
 * between.
 */
function turned(): void {
  watching = false;
  turnAt = busyNow();
  const ready = due;
  due = asked;
  asked = [];
  if (due.length > 0) watch();
  for (const resolve of ready) resolve();
}

/**
 * Returns a function to await between pieces of work: once `sliceMs` of work was done since the
 * loop last turned (by this slicer or any other), it waits until the loop has served its timers and
 * I/O; else it returns undefined (nothing to await).
 */
export function createSlicer(sliceMs = SLICE_MS): () => Promise<void> | undefined {
  return () => {
    watch();
    if (busyNow() - turnAt < sliceMs) return undefined;
    return new Promise<void>((resolve) => asked.push(resolve));
  };
}
