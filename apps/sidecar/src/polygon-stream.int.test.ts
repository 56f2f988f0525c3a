// The Polygon stream end to end: the real Polygon stream client against the fetchers' WebSocket
// fixture server (Polygon's socket protocol), the real Yahoo fetcher against a Yahoo-format server,
// an injected clock moved one second per cycle, STALE_AFTER=10. While the stream delivers, the
// forming bar stays fresh (polled alongside); when it falls silent, that is noticed within
// STALE_AFTER of the missing bar and the polls carry the symbol alone.
import { ManualClock, alignTs } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { startProviderServer, type ProviderServer } from '@pipeline/fetchers/testing';
// Test support of the fetchers package (not exported): a local server speaking Polygon's socket protocol.
import {
  startPolygonWsFixtureServer,
  type PolygonWsFixtureServer,
} from '../../../packages/fetchers/src/polygon/ws-fixture-server';
import { loadConfig } from './wiring/config';
import { createService, type Service } from './wiring/service';
import { at } from '../test/at';

const MIN = 60_000;
const KEY = 'test-polygon-key-123';

describe('Polygon stream beside polling (WebSocket fixture server, Yahoo-format server)', () => {
  // A Wednesday, 15:00:01 UTC: FX is open.
  const clock = new ManualClock(Date.UTC(2024, 0, 3, 15, 0, 1, 0));
  let yahoo: ProviderServer;
  let ws: PolygonWsFixtureServer;
  let service: Service;

  beforeAll(async () => {
    yahoo = await startProviderServer({ fetcher: createSyntheticFetcher({ clock }), clock });
    ws = await startPolygonWsFixtureServer(KEY);
    const config = loadConfig({
      SYMBOLS: 'EURUSD',
      SOURCES: 'yahoo,polygon',
      POLYGON_API_KEY: KEY,
      POLYGON_WS_URL: ws.url,
      YAHOO_BASE_URL: yahoo.url,
      SQLITE_PATH: ':memory:',
      BOOTSTRAP_DAYS: '0',
      STALE_AFTER: '10',
    });
    service = createService(config, { scheduler: clock });
    await service.sidecar.start({ skipBootstrap: true, loop: false });
    await ws.waitForConnections(1);
    await until(() => ws.received.flat().some((m) => m.action === 'subscribe'));
  });

  afterAll(async () => {
    await service.close();
    await Promise.all([yahoo.close(), ws.close()]);
  });

  async function until(ok: () => boolean, ms = 3_000): Promise<void> {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Sends the closed minute `ts` as Polygon's forex minute aggregate, near the last polled price. */
  async function deliver(ts: number): Promise<void> {
    const p = service.sidecar.symbolState('EURUSD')!.lastBar!.close;
    const frame = [{ ev: 'CA', pair: 'EUR/USD', v: 12, o: p, c: p, h: p, l: p, s: ts, e: ts + MIN }];
    let got = false;
    const off = service.sidecar.onBars((e) => {
      if (e.bars.some((b) => b.source === 'polygon' && b.ts === ts)) got = true;
    });
    ws.broadcast(JSON.stringify(frame));
    // A bar older than the polled forming one is known already (not ingested again, no onBars):
    // what counts is that the client read the frame, so give it a moment either way.
    await until(() => got, 200).catch(() => undefined);
    off();
  }

  it('keeps the forming bar fresh while streaming and notices silence within STALE_AFTER', async () => {
    const start = alignTs(clock.now(), '1m');
    const log: { t: number; streamed: number; stale: boolean; forming: boolean }[] = [];
    for (let i = 0; i < 200; i++) {
      const t = clock.now();
      // Minutes 0 and 1 are delivered 2 s after they close; from minute 2 on the stream is silent.
      const sinceClose = t - alignTs(t, '1m');
      const closed = alignTs(t, '1m') - MIN;
      if (sinceClose === 2_000 && closed >= start && closed < start + 2 * MIN) await deliver(closed);
      const r = await service.sidecar.runCycle();
      const h = at(service.sidecar.health().symbols, 0);
      const last = service.sidecar.symbolState('EURUSD')!.lastBar!;
      log.push({ t, streamed: r.streamed, stale: h.stale, forming: last.ts === alignTs(t, '1m') });
      clock.advance(1_000);
    }
    // Streaming from the first delivery on...
    const firstStreamed = log.find((l) => l.streamed === 1)!;
    expect(firstStreamed.t).toBe(start + MIN + 2_000);
    // ...until the bar of minute 2, due at start + 3 min, is STALE_AFTER late: silence is noticed
    // then (not two bars later), and the polls, which never stopped, carry the symbol alone.
    const lastStreamed = log.filter((l) => l.streamed === 1).at(-1)!;
    expect(lastStreamed.t).toBe(start + 3 * MIN + 9_000);
    expect(log.find((l) => l.t > lastStreamed.t)).toMatchObject({ t: start + 3 * MIN + 10_000, streamed: 0 });
    // Never stale, and the newest bar is the forming one of the current minute nearly always (the
    // polls run beside the stream; a poll every few seconds under the planner).
    expect(log.filter((l) => l.stale)).toEqual([]);
    const formingShare = log.filter((l) => l.forming).length / log.length;
    expect(formingShare).toBeGreaterThan(0.9);
  });
});
