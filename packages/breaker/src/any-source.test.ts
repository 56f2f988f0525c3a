// Issue 15: the breaker guards any named dependency (a broker's order API), not only the six
// market-data sources; the typed source names stay the common case.
import { ManualClock } from '@pipeline/core';
import { fetchError } from '../test/helpers';
import { createBreakerRegistry, isBreakerError, type StateChangeEvent } from './index';

describe('any source name', () => {
  it('opens, refuses, probes, saves and restores a circuit for a broker API name', async () => {
    const clock = new ManualClock();
    const breakers = createBreakerRegistry({
      clock,
      breaker: { failureThreshold: 2, halfOpenAfterMs: 1_000 },
      retry: { maxAttempts: 1 },
      timeoutMs: 0,
    });
    const events: StateChangeEvent[] = [];
    breakers.onStateChange((e) => events.push(e));
    const down = () => Promise.reject(new Error('POST https://broker.test/orders?token=T0kenXYZ123 -> 502'));
    for (let i = 0; i < 2; i++) await breakers.execute('ib-orders', down).catch(() => undefined);
    expect(events.map((e) => [e.source, e.to])).toEqual([['ib-orders', 'open']]);
    const refused: unknown = await breakers
      .execute('ib-orders', () => Promise.resolve(1))
      .catch((e: unknown) => e);
    expect(isBreakerError(refused, 'BREAKER_OPEN')).toBe(true);
    const health = breakers.snapshot('ib-orders');
    expect(health.lastError?.message).toContain('token=***');
    expect(health.lastError?.message).not.toContain('T0kenXYZ123');
    const saved = JSON.parse(JSON.stringify(breakers.exportState())) as unknown;
    const restarted = createBreakerRegistry({ clock, retry: { maxAttempts: 1 }, timeoutMs: 0 });
    restarted.restoreState(saved);
    expect(restarted.isCallable('ib-orders')).toBe(false);
    clock.advance(1_000);
    await expect(restarted.execute('ib-orders', () => Promise.resolve('filled'))).resolves.toBe('filled');
    expect(restarted.snapshot('ib-orders').state).toBe('closed');
    // The market-data names keep working side by side.
    await breakers.execute('yahoo', () => Promise.reject(fetchError('transient'))).catch(() => undefined);
    expect(Object.keys(breakers.snapshot()).sort()).toEqual(['ib-orders', 'yahoo']);
  });

  it('rejects names that cannot be a source with a TypeError', async () => {
    const breakers = createBreakerRegistry({ clock: new ManualClock() });
    expect(() => breakers.isCallable('')).toThrow(TypeError);
    expect(() => breakers.snapshot('a\nb')).toThrow(TypeError);
    await expect(breakers.execute(42 as never, () => Promise.resolve(1))).rejects.toThrow(TypeError);
  });
});
