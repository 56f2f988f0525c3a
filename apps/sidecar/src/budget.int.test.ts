// The request planner end to end: the real Yahoo fetcher (its own rate budget) against a local
// Yahoo-format server, the documented defaults (3 symbols, COLLECTION_INTERVAL=1, Yahoo 60 a
// minute), an injected clock moved one second per cycle for three minutes.
import { ManualClock, alignTs } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { startProviderServer, type ProviderServer } from '@pipeline/fetchers/testing';
import { loadConfig } from './wiring/config';
import { createService, type Service } from './wiring/service';
import { at } from '../test/at';

describe('request budget spread over the minute (Yahoo 60/min, 3 symbols, 1 s)', () => {
  // A Wednesday, 15:00 UTC: FX, gold and the US index are all open.
  const clock = new ManualClock(Date.UTC(2024, 0, 3, 15, 0, 0, 0));
  let server: ProviderServer;
  let service: Service;

  beforeAll(async () => {
    server = await startProviderServer({ fetcher: createSyntheticFetcher({ clock }), clock });
    const config = loadConfig({
      SOURCES: 'yahoo',
      YAHOO_BASE_URL: server.url,
      SQLITE_PATH: ':memory:',
      BOOTSTRAP_DAYS: '0',
    });
    service = createService(config, { scheduler: clock });
    await service.sidecar.start({ skipBootstrap: true, loop: false });
  });

  afterAll(async () => {
    await service.close();
    await server.close();
  });

  it('never exceeds 60 requests in any minute, never leaves a symbol stale and /health is never down', async () => {
    const sentAt: number[] = [];
    const statuses = new Set<string>();
    const lagging: string[] = [];
    let waiting = 0;
    let failed = 0;
    for (let i = 0; i < 125; i++) {
      const before = server.requests.length;
      const report = await service.sidecar.runCycle();
      for (let k = before; k < server.requests.length; k++) sentAt.push(clock.now());
      waiting += report.waiting;
      failed += report.failed;
      const h = service.sidecar.health();
      statuses.add(h.status);
      for (const s of h.symbols) {
        if (s.stale) lagging.push(`${s.symbol}@${i}`);
        // The newest bar is this minute's forming bar or, for a moment after the close, the last one.
        if (i > 5 && s.lastBarTs! < alignTs(clock.now(), '1m') - 60_000) lagging.push(`${s.symbol} old@${i}`);
      }
      clock.advance(1_000);
    }
    expect(failed).toBe(0);
    expect(lagging).toEqual([]);
    expect(statuses.has('down')).toBe(false);
    expect(waiting).toBeGreaterThan(0); // the planner did hold symbols back
    let maxPerMinute = 0;
    for (let i = 0, j = 0; i < sentAt.length; i++) {
      while (at(sentAt, i) - at(sentAt, j) >= 60_000) j++;
      maxPerMinute = Math.max(maxPerMinute, i - j + 1);
    }
    expect(maxPerMinute).toBeLessThanOrEqual(60);
    // Spent across the whole minute: about 54 a minute, not 60 in 20 s and then nothing.
    expect(sentAt.length).toBeGreaterThan(105);
    let maxGap = 0;
    for (let i = 1; i < sentAt.length; i++) maxGap = Math.max(maxGap, at(sentAt, i) - at(sentAt, i - 1));
    expect(maxGap).toBeLessThanOrEqual(2_000);
    const yahoo = at(service.sidecar.health().sources, 0);
    expect(yahoo.plan).toMatchObject({ limitedBy: 'minute', symbols: 3 });
    expect(yahoo.plan?.refreshMs).toBeGreaterThan(3_000);
    const metrics = await service.sidecar.metrics.text();
    expect(metrics).toMatch(/^pipeline_source_refresh_interval_seconds\{source="yahoo"\} 3\.\d+$/m);
  });
});
