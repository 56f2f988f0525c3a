import { ManualClock } from '@pipeline/core';
import { createHealth, healthStatus, type HealthFacts, type HealthOptions, type Phase } from './health';
import { createSymbolStates, type SymbolStates } from './symbol-state';

const ok: HealthFacts = {
  phase: 'live',
  cycles: 3,
  symbols: 2,
  staleSymbols: 0,
  unavailableSources: 0,
  cache: 'ready',
  store: 'up',
};

describe('the health rule', () => {
  it('is ok when live with fresh symbols, callable sources, a ready cache and a working store', () => {
    expect(healthStatus(ok)).toBe('ok');
  });

  it.each<[string, Partial<HealthFacts>]>([
    ['not live yet', { phase: 'bootstrap' }],
    ['one symbol stale', { staleSymbols: 1 }],
    ['a source unavailable', { unavailableSources: 1 }],
    ['the cache connecting', { cache: 'connecting' }],
    ['the store failing', { store: 'failing' }],
  ])('is degraded with %s', (_name, change) => {
    expect(healthStatus({ ...ok, ...change })).toBe('degraded');
  });

  it('is down when stopped, or when every symbol is stale after a cycle (not before the first)', () => {
    expect(healthStatus({ ...ok, phase: 'stopped' })).toBe('down');
    expect(healthStatus({ ...ok, staleSymbols: 2 })).toBe('down');
    expect(healthStatus({ ...ok, staleSymbols: 2, cycles: 0 })).toBe('degraded');
  });
});

describe('the probes', () => {
  const untouchable = <T extends object>(name: string): T =>
    new Proxy({} as T, {
      get: (_t, prop) => {
        if (prop === 'then') return undefined;
        throw new Error(`the probe read ${name}.${String(prop)}`);
      },
    });

  function setup(symbols: number, live: Partial<ReturnType<HealthOptions['live']>> = {}) {
    const clock = new ManualClock(1_700_000_000_000);
    const base = createSymbolStates({
      symbols: Array.from({ length: symbols }, (_, i) => `SYM${i}`),
      toBroker: (s) => s,
      staleAfterMs: 10_000,
    });
    let judged = 0;
    const states: SymbolStates = {
      ...base,
      freshness: (s, now) => {
        judged++;
        return base.freshness(s, now);
      },
      stale: (s, now) => {
        judged++;
        return base.stale(s, now);
      },
    };
    const facts = {
      phase: 'live' as Phase,
      bootstrap: null,
      cycles: 1,
      loopCycles: 1,
      overruns: 0,
      lastCycleMs: 5,
      loopRunning: true,
      ...live,
    };
    const health = createHealth({
      clock,
      version: '1.0.0',
      intervalMs: 1000,
      sources: untouchable('sources'),
      breaker: untouchable('breaker'),
      store: untouchable('store'),
      cache: untouchable('cache'),
      states,
      live: () => facts,
    });
    return { clock, base, health, facts, judged: () => judged };
  }

  it('liveness reads no symbol, source or storage state', () => {
    const { health, judged } = setup(1000);
    expect(health.liveness()).toEqual({ ok: true, status: 'ok' });
    expect(judged()).toBe(0);
  });

  it('readiness judges symbols only until the first fresh one, and is down only when all are stale', () => {
    const { clock, base, health, judged } = setup(1000);
    const first = base.get('SYM0');
    first.lastSuccessAt = clock.now();
    expect(health.readiness()).toEqual({ ok: true, status: 'ready' });
    expect(judged()).toBe(1);
    first.lastSuccessAt = null;
    base.get('SYM999').lastSuccessAt = clock.now();
    expect(health.readiness()).toEqual({ ok: true, status: 'ready' });
    base.get('SYM999').lastSuccessAt = null;
    expect(health.readiness()).toEqual({ ok: false, status: 'down' });
  });

  it('readiness before the first cycle, or while not live, judges no symbol', () => {
    const { health, facts, judged } = setup(10, { cycles: 0 });
    expect(health.readiness()).toEqual({ ok: true, status: 'ready' });
    facts.phase = 'bootstrap';
    expect(health.readiness()).toEqual({ ok: false, status: 'bootstrap' });
    expect(judged()).toBe(0);
  });

  it('liveness is stalled after stallAfterMs without a new loop cycle, and only while the loop runs', () => {
    const { clock, health, facts } = setup(1);
    expect(health.liveness().ok).toBe(true);
    clock.advance(60_000);
    expect(health.liveness().ok).toBe(true);
    clock.advance(1);
    expect(health.liveness()).toEqual({ ok: false, status: 'stalled' });
    facts.loopCycles++;
    expect(health.liveness().ok).toBe(true);
    clock.advance(120_000);
    facts.loopRunning = false;
    expect(health.liveness().ok).toBe(true);
    facts.phase = 'stopped';
    expect(health.liveness()).toEqual({ ok: false, status: 'down' });
  });
});

describe('the health summary', () => {
  it('is the report’s status and breakers, by the same rule, without the symbols', async () => {
    const { stageFixture } = await import('../pipeline/stage-fixtures');
    const f = stageFixture({ SYMBOLS: 'EURUSD,XAUUSD' });
    const facts = {
      phase: 'live' as Phase,
      bootstrap: null,
      cycles: 1,
      loopCycles: 1,
      overruns: 0,
      lastCycleMs: 5,
    };
    // One source's breaker open, or cooling down after a 429, when the test says so.
    const open = new Set<string>();
    const cooling = new Set<string>();
    const breaker: HealthOptions['breaker'] = {
      ...f.breaker,
      snapshot: (source) => {
        const st = f.breaker.snapshot(source);
        return {
          ...st,
          state: open.has(source) ? 'open' : st.state,
          coolingDownUntil: cooling.has(source) ? f.clock.now() + 1_000 : st.coolingDownUntil,
        };
      },
    };
    const health = createHealth({ ...f, breaker, version: '1', intervalMs: 1000, live: () => facts });
    const check = () => {
      const r = health.report();
      expect(health.summary()).toEqual({
        status: r.status,
        sources: r.sources.map((s) => ({ name: s.name, breaker: s.breaker })),
      });
      return r.status;
    };
    try {
      const seen = [check()]; // every symbol stale after a cycle: down
      f.states.get('EURUSD').lastSuccessAt = f.clock.now();
      seen.push(check()); // one stale: degraded
      f.states.get('XAUUSD').lastSuccessAt = f.clock.now();
      seen.push(check());
      const name = f.sources[0]?.name;
      if (name === undefined) throw new Error('the fixture has no source');
      cooling.add(name);
      seen.push(check()); // a source cooling down
      cooling.delete(name);
      open.add(name);
      seen.push(check()); // a breaker open
      expect(health.summary().sources.find((s) => s.name === name)?.breaker).toBe('open');
      facts.phase = 'stopped';
      seen.push(check());
      expect(seen).toEqual(['down', 'degraded', seen[2], 'degraded', 'degraded', 'down']);
    } finally {
      await f.close();
    }
  });
});
