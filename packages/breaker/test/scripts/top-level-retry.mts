// Run by src/keep-alive.int.test.ts in a child process: a script whose only pending work is a
// top-level `await breakers.execute(...)` sitting in a retry wait. Argument `unref-clock` passes a
// clock whose timers are unref'd (like core's systemClock) but is not systemClock itself.
import { FetchError, createBreakerRegistry, systemClock, type Scheduler } from '@pipeline/breaker';

const unrefClock: Scheduler = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
const clock = process.argv[2] === 'unref-clock' ? unrefClock : systemClock;
const breakers = createBreakerRegistry({
  clock,
  retry: { maxAttempts: 2, baseDelayMs: 300, maxDelayMs: 300, jitter: 'none' },
});
let calls = 0;
const value = await breakers.execute('ib-orders', async () => {
  calls++;
  if (calls === 1) throw new FetchError({ kind: 'transient', source: 'yahoo', message: 'HTTP 503' });
  return 'filled';
});
console.log(`${value} after ${calls} calls`);
