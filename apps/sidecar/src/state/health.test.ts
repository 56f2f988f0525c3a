import { healthStatus, type HealthFacts } from './health';

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
