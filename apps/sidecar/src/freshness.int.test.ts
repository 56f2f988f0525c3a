// Freshness from the data, end to end: the real Yahoo fetcher against a Yahoo-format server whose
// feed can freeze (it keeps answering, with the same bar), an injected clock moved one second per
// cycle, STALE_AFTER=10.
import { ManualClock } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { startProviderServer, type ProviderServer } from '@pipeline/fetchers/testing';
import { loadConfig } from './wiring/config';
import { createService, type Service } from './wiring/service';
import { at } from '../test/at';

describe('a frozen provider is shown as stale (Yahoo-format server, STALE_AFTER=10)', () => {
  // A Wednesday, 15:00:05 UTC: FX is open.
  const clock = new ManualClock(Date.UTC(2024, 0, 3, 15, 0, 5, 0));
  /** The feed's own time: follows the clock until frozen. */
  let frozenAt: number | null = null;
  const feedClock = { now: () => frozenAt ?? clock.now() };
  let server: ProviderServer;
  let service: Service;

  beforeAll(async () => {
    server = await startProviderServer({ fetcher: createSyntheticFetcher({ clock: feedClock }), clock });
    const config = loadConfig({
      SYMBOLS: 'EURUSD',
      SOURCES: 'yahoo',
      YAHOO_BASE_URL: server.url,
      SQLITE_PATH: ':memory:',
      BOOTSTRAP_DAYS: '0',
      STALE_AFTER: '10',
    });
    service = createService(config, { scheduler: clock });
    await service.sidecar.start({ skipBootstrap: true, loop: false });
  });

  afterAll(async () => {
    await service.close();
    await server.close();
  });

  const run = async (seconds: number) => {
    const seen: { at: number; stale: boolean; reason: string | null; status: string }[] = [];
    for (let i = 0; i < seconds; i++) {
      await service.sidecar.runCycle();
      const h = service.sidecar.health();
      seen.push({
        at: clock.now(),
        stale: at(h.symbols, 0).stale,
        reason: at(h.symbols, 0).staleReason,
        status: h.status,
      });
      clock.advance(1_000);
    }
    return seen;
  };

  it('is fresh while the feed advances', async () => {
    const seen = await run(20);
    expect(seen.filter((s) => s.stale)).toEqual([]);
    expect(service.sidecar.signal('EURUSD')).toMatchObject({ stale: false });
  });

  it('turns stale within STALE_AFTER (plus one poll) of the freeze although every answer succeeds, lowers the signal and shows in /metrics', async () => {
    frozenAt = clock.now();
    const seen = await run(20);
    const firstStale = seen.find((s) => s.stale)!;
    expect(firstStale).toBeDefined();
    expect(firstStale.at - frozenAt).toBeGreaterThan(10_000);
    expect(firstStale.at - frozenAt).toBeLessThanOrEqual(11_000);
    expect(['frozen', 'old_bar']).toContain(firstStale.reason);
    // Every poll was answered: the old rule (time since the last answer) saw nothing wrong.
    expect(service.sidecar.symbolState('EURUSD')!.consecutiveFailures).toBe(0);
    expect(clock.now() - service.sidecar.symbolState('EURUSD')!.lastSuccessAt!).toBeLessThanOrEqual(4_000);
    expect(seen.at(-1)).toMatchObject({ stale: true, status: 'down' });
    const signal = service.sidecar.signal('EURUSD')!;
    expect(signal.stale).toBe(true);
    expect(signal.confidence).toBeLessThanOrEqual(signal.rawConfidence * 0.5 + 1e-9);
    // /bars serves the frozen price, marked stale.
    expect(await service.sidecar.bars('EURUSD', '1m', 5)).toMatchObject({ stale: true });
    expect(await service.sidecar.metrics.text()).toMatch(/^pipeline_data_stale\{symbol="EURUSD"\} 1$/m);
  });

  it('is fresh again as soon as the feed moves', async () => {
    frozenAt = null;
    const seen = await run(5);
    expect(seen.at(-1)).toMatchObject({ stale: false, reason: null });
    expect(await service.sidecar.metrics.text()).toMatch(/^pipeline_data_stale\{symbol="EURUSD"\} 0$/m);
  });
});
