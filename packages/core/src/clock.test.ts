import { ManualClock, systemClock } from './index';

describe('ManualClock', () => {
  it('fires timers in due order with now() at their due time', () => {
    const clock = new ManualClock(1_000);
    const seen: Array<[string, number]> = [];
    clock.setTimeout(() => seen.push(['b', clock.now()]), 200);
    clock.setTimeout(() => seen.push(['a', clock.now()]), 100);
    const c = clock.setTimeout(() => seen.push(['c', clock.now()]), 150);
    c.cancel();
    clock.advance(250);
    expect(seen).toEqual([
      ['a', 1_100],
      ['b', 1_200],
    ]);
    expect(clock.now()).toBe(1_250);
    expect(clock.pendingTimers).toBe(0);
  });

  it('runs timers scheduled by timers within the same advance', () => {
    const clock = new ManualClock(0);
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      clock.setTimeout(tick, 1_000);
    };
    clock.setTimeout(tick, 1_000);
    clock.advance(10_000);
    expect(ticks).toBe(10);
    expect(clock.pendingTimers).toBe(1);
  });

  it('refuses to go back in time', () => {
    const clock = new ManualClock(5_000);
    expect(() => clock.set(4_000)).toThrow(RangeError);
  });
});

describe('systemClock', () => {
  it('tracks Date.now and runs an unref-ed timer', async () => {
    expect(Math.abs(systemClock.now() - Date.now())).toBeLessThan(50);
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 5));
  });
});
