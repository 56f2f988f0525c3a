import { performance } from 'node:perf_hooks';
import { createSlicer, SLICE_MS } from './slice';

/** Holds the loop for `ms` (synchronous work). */
function hold(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Lets the loop turn (a check phase runs). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('createSlicer', () => {
  it('gives the loop back once a slice of work was done, and not before', async () => {
    const slice = createSlicer();
    void slice(); // watches for the next turn
    await turn();
    expect(slice()).toBeUndefined();
    hold(SLICE_MS + 2);
    const wait = slice();
    expect(wait).toBeInstanceOf(Promise);
    let timerRan = false;
    setTimeout(() => (timerRan = true), 0);
    hold(2); // the timer is due: it runs before the slicer resumes
    await wait;
    expect(timerRan).toBe(true);
    expect(slice()).toBeUndefined();
  });

  it('counts the work done under any slicer since the loop last turned (one budget for the loop)', async () => {
    const bootstrap = createSlicer();
    void bootstrap(); // watches for the next turn
    await turn();
    hold(SLICE_MS + 2); // e.g. a store reply's settle and warm, outside the bootstrap's own slices
    // A slicer created now (a cache fill starting) yields at once: the loop has been held a slice.
    const fill = createSlicer();
    const waits = [fill(), bootstrap()];
    expect(waits[0]).toBeInstanceOf(Promise);
    expect(waits[1]).toBeInstanceOf(Promise);
    // Both resume once the loop has turned.
    await waits[0];
    await waits[1];
    expect(fill()).toBeUndefined();
  });

  it('a turn of the loop it did not make gives the budget back once the turn reached its check phase', async () => {
    const slice = createSlicer();
    void slice(); // watches for the next turn
    await turn();
    expect(slice()).toBeUndefined(); // watches again: its immediate is queued before the test's
    hold(SLICE_MS + 2);
    // Someone else's immediate (an I/O callback's follow-up, say): the slicer's runs first in the
    // same check phase. A timer or an I/O callback alone may run before that phase (under load a 1 ms
    // timer is already due when the loop comes round, failing the sidecar suite once in CI-like
    // load), and then the budget is given back one turn later: the slicer yields once more.
    await turn();
    expect(slice()).toBeUndefined();
    hold(SLICE_MS + 2);
    expect(slice()).toBeInstanceOf(Promise);
  });
});
