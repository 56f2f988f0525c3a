import { ManualClock, type Bar } from '@pipeline/core';
import { cleanupTempDirs } from '@pipeline/test-utils';
import { type FastifyInstance } from 'fastify';
import { type BarCachePort } from '../ports';
import { createCacheFromConfig } from '../wiring/wiring';
import { buildApp } from './api';
import { createHarness, settle, testConfig, type Harness } from '../../test/harness';

afterAll(() => cleanupTempDirs());

const probe = async (app: FastifyInstance, url: string) => {
  const res = await app.inject({ method: 'GET', url });
  return [res.statusCode, res.json().status] as const;
};

describe('GET /health/live and /health/ready (real sidecar, inject)', () => {
  let h: Harness;
  let app: FastifyInstance;
  afterEach(async () => {
    await app.close();
    await h.sidecar.stop();
  });

  it('follow the lifecycle; an outage of every source makes it unready, not dead', async () => {
    h = createHarness({ SYMBOLS: 'EURUSD,XAUUSD,NAS100' });
    app = buildApp(h.sidecar);
    expect(await probe(app, '/health/live')).toEqual([200, 'ok']);
    expect(await probe(app, '/health/ready')).toEqual([503, 'starting']);
    await h.sidecar.start({ skipBootstrap: true, loop: false });
    expect(await probe(app, '/health/ready')).toEqual([200, 'ready']);
    await h.sidecar.runCycle();
    expect(await probe(app, '/health/ready')).toEqual([200, 'ready']);
    // The full report carries the late finaliser's counters (its forming bars are pending).
    const full = (await app.inject({ method: 'GET', url: '/health' })).json();
    expect(full.finalizer).toMatchObject({ pending: 3, retrying: 0, givenUp: 0, lastGivenUp: null });

    for (const f of h.fetchers) f.mode = 'transient';
    h.clock.advance(h.config.staleAfterMs + 1000);
    await h.sidecar.runCycle();
    // Every symbol stale: the report is down and readiness agrees; liveness does not (a restart
    // would not bring the providers back).
    expect(h.sidecar.health().status).toBe('down');
    expect(await probe(app, '/health/ready')).toEqual([503, 'down']);
    expect(await probe(app, '/health/live')).toEqual([200, 'ok']);

    // One source back for one cycle: one fresh symbol is enough to be ready again.
    for (const f of h.fetchers) f.mode = 'ok';
    await h.sidecar.runCycle();
    expect(await probe(app, '/health/ready')).toEqual([200, 'ready']);

    await h.sidecar.stop();
    expect(await probe(app, '/health/live')).toEqual([503, 'down']);
    expect(await probe(app, '/health/ready')).toEqual([503, 'stopped']);
  });

  it('/health/live answers 503 stalled once the running loop started no cycle for 60 s', async () => {
    // A cache write that never settles hangs the cycle (source calls have the breaker's timeout).
    const env = { SYMBOLS: 'EURUSD' };
    const clock = new ManualClock(Date.UTC(2024, 0, 3, 12, 0, 0));
    const cache = createCacheFromConfig(testConfig(env), clock);
    let hang = false;
    let release: () => void = () => undefined;
    const gated: BarCachePort = {
      kind: cache.kind,
      writeBars: (bars: readonly Bar[]) =>
        hang
          ? new Promise<unknown>((resolve) => (release = () => resolve(cache.writeBars(bars))))
          : cache.writeBars(bars),
      latestBars: (...a) => cache.latestBars(...a),
      setFeatures: (...a) => cache.setFeatures(...a),
      setSignal: (...a) => cache.setSignal(...a),
      health: () => cache.health(),
      close: () => cache.close(),
    };
    h = createHarness(env, { cache: gated }, clock);
    app = buildApp(h.sidecar);
    await h.sidecar.start({ skipBootstrap: true });
    const step = async (ms: number) => {
      h.clock.advance(ms);
      for (let i = 0; i < 5; i++) await settle();
    };
    for (let s = 0; s < 5; s++) {
      await step(1000);
      expect(await probe(app, '/health/live')).toEqual([200, 'ok']);
    }
    const cyclesBefore = h.sidecar.health().loop.cycles;
    expect(cyclesBefore).toBeGreaterThanOrEqual(4);

    hang = true;
    await step(1000); // this cycle starts and hangs in its write
    const stuckAt = h.sidecar.health().loop.cycles;
    expect(await probe(app, '/health/live')).toEqual([200, 'ok']);
    await step(59_000);
    expect(h.sidecar.health().loop.cycles).toBe(stuckAt);
    expect(await probe(app, '/health/live')).toEqual([200, 'ok']);
    await step(2000);
    expect(await probe(app, '/health/live')).toEqual([503, 'stalled']);
    // The hung cycle settles: the loop goes on and liveness recovers.
    hang = false;
    release();
    await step(0); // the cycle ends and schedules the next one
    await step(1000);
    expect(h.sidecar.health().loop.cycles).toBeGreaterThan(stuckAt);
    expect(await probe(app, '/health/live')).toEqual([200, 'ok']);
  });
});
