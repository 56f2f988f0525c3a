// Each way a provider fails, served by a real HTTP server in front of a Yahoo-format server: the
// real Yahoo fetcher, the sidecar's breaker wiring and its fallback order (yahoo -> synthetic)
// must react as documented (breaker README "What counts" and "Rate-limit policy",
// ARCHITECTURE "Data flow"), inside the cycle where the failure happens, and /health must say so.
import { alignTs } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { startProviderServer, type ProviderServer } from '@pipeline/fetchers/testing';
import { cleanupTempDirs, tempSqlitePath } from '@pipeline/test-utils';
import { loadConfig } from '../src/wiring/config';
import { createService, type Service } from '../src/wiring/service';
import { type HealthReport } from '../src/sidecar';
import { createShiftableClock, type ShiftableClock } from './clock';
import { barViolations, readStoredBars, startFaultProxy, type FaultProxy, type FaultSpec } from './helpers';
import { at } from '../test/at';

const SYMBOL = 'EURUSD';
/** The sidecar's breaker opens after this many consecutive counted failures (breaker default). */
const FAILURE_THRESHOLD = 5;
/** ... and lets one probe through after this long (breaker default). */
const HALF_OPEN_AFTER_MS = 60_000;

interface Fault {
  name: string;
  spec: FaultSpec;
  /** The FetchError/breaker code the failed yahoo attempt must carry. */
  code: string;
}

const html =
  '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr><center>nginx</center></body></html>';
/** Faults that count against the circuit: each must fall back in its cycle and open the breaker after five. */
const COUNTED: Fault[] = [
  { name: 'timeout (the upstream never answers)', spec: { hang: true }, code: 'BREAKER_TIMEOUT' },
  {
    name: 'HTTP 503',
    spec: { status: 503, headers: { 'content-type': 'text/plain' }, body: 'Service Unavailable' },
    code: 'FETCH_TRANSIENT',
  },
  {
    name: 'HTTP 500 with a JSON error',
    spec: { status: 500, body: '{"finance":{"error":{"code":"Internal Server Error"}}}' },
    code: 'FETCH_TRANSIENT',
  },
  { name: 'connection reset', spec: { reset: true }, code: 'FETCH_TRANSIENT' },
  {
    name: 'garbage bytes with status 200',
    spec: { status: 200, body: Buffer.from([0x00, 0xff, 0x7b, 0x22, 0x13, 0x37, 0xfe]) },
    code: 'FETCH_MALFORMED',
  },
  {
    name: 'an HTML page with status 200',
    spec: { status: 200, headers: { 'content-type': 'text/html' }, body: html },
    code: 'FETCH_MALFORMED',
  },
  {
    name: 'a proxy error page (HTML, 502)',
    spec: { status: 502, headers: { 'content-type': 'text/html' }, body: html },
    code: 'FETCH_TRANSIENT',
  },
  // fetchers README: "HTML, empty, truncated or unexpected bodies" are malformed, not transient.
  {
    name: 'a body truncated mid-stream (Content-Length larger than sent)',
    spec: (real) => ({ ...real, truncateAt: Math.floor(Buffer.byteLength(real.body ?? '') / 2) }),
    code: 'FETCH_MALFORMED',
  },
  {
    name: 'a complete but cut JSON document',
    spec: (real) => ({ ...real, body: String(real.body).slice(0, Math.floor(String(real.body).length / 2)) }),
    code: 'FETCH_MALFORMED',
  },
  { name: 'an empty body with status 200', spec: { status: 200, body: '' }, code: 'FETCH_MALFORMED' },
];

describe('provider failures: breaker, fallback and /health in the same cycle', () => {
  let clock: ShiftableClock;
  let yahooUpstream: ProviderServer;
  let av: ProviderServer;
  let proxy: FaultProxy;
  let service: Service | undefined;
  let sqlitePath: string;

  beforeAll(async () => {
    clock = createShiftableClock();
    // Both providers serve the same deterministic synthetic walk in their own formats.
    yahooUpstream = await startProviderServer({ fetcher: createSyntheticFetcher({ clock }), clock });
    av = await startProviderServer({ fetcher: createSyntheticFetcher({ clock }), clock });
    proxy = await startFaultProxy(yahooUpstream.url);
  });
  afterAll(async () => {
    await service?.close();
    await Promise.all([proxy.close(), yahooUpstream.close(), av.close()]);
    cleanupTempDirs();
  });
  beforeEach(async () => {
    // A fresh service per case: its own breaker and rate budgets, nothing carried between faults.
    proxy.setFault(null);
    sqlitePath = tempSqlitePath('providers');
    service = createService(
      loadConfig({
        SYMBOLS: SYMBOL,
        // The fallback is the synthetic source: Alpha Vantage's free budget (25 a day) is spread by
        // the request planner over the day, so it cannot serve five fallbacks in a row (its own
        // tests are in fetchers and src/av-yahoo.int.test.ts).
        SOURCES: 'yahoo,synthetic',
        YAHOO_BASE_URL: proxy.url,
        SQLITE_PATH: sqlitePath,
        BOOTSTRAP_DAYS: '0',
        COLLECTION_INTERVAL: '1',
        STALE_AFTER: '10',
      }),
      { scheduler: clock },
    );
    await service.sidecar.start({ loop: false });
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  /**
   * The next cycle, one planner slot later: the request planner spreads each source's budget over its
   * windows (Yahoo 60/min, Alpha Vantage 1/s and 5/min, each with a margin), so back-to-back cycles
   * would find the sources waiting for their turn instead of being asked.
   */
  const nextCycle = () => {
    clock.advance(1_300);
    return service!.sidecar.runCycle();
  };
  const health = async (): Promise<HealthReport> =>
    (await service!.app.inject({ method: 'GET', url: '/health' })).json();
  const sourceHealth = (h: HealthReport, name: string) => h.sources.find((s) => s.name === name)!;
  const attempts = () =>
    service!.sidecar.symbolState(SYMBOL)!.lastAttempts.map((a) => ({
      source: a.source,
      outcome: a.outcome,
      ...(a.code ? { code: a.code } : {}),
    }));

  it('serves from yahoo while it is healthy (the baseline the faults are measured against)', async () => {
    const report = await service!.sidecar.runCycle();
    expect(report).toMatchObject({ ok: 1, failed: 0 });
    expect(attempts()).toEqual([{ source: 'yahoo', outcome: 'ok' }]);
    const h = await health();
    expect(h.status).toBe('ok');
    expect(sourceHealth(h, 'yahoo')).toMatchObject({ breaker: 'closed', successRate: 1 });
    expect(h.symbols[0]).toMatchObject({
      symbol: SYMBOL,
      stale: false,
      source: 'yahoo',
      lastBarTs: alignTs(clock.now(), '1m'),
    });
  });

  it.each(COUNTED)(
    '$name: falls back within the cycle, opens the breaker after 5, then skips yahoo without calling it',
    async ({ spec, code }) => {
      // One good cycle first so the fallback's bars continue a known series.
      await service!.sidecar.runCycle();
      proxy.setFault(spec);
      for (let i = 1; i <= FAILURE_THRESHOLD; i++) {
        const before = proxy.count;
        const report = await nextCycle();
        // Same cycle: yahoo was asked and failed, the fallback answered; the symbol is not stale.
        expect(proxy.count).toBeGreaterThan(before);
        expect(report).toMatchObject({ ok: 1, failed: 0 });
        expect(attempts()).toEqual([
          { source: 'yahoo', outcome: 'failed', code },
          { source: 'synthetic', outcome: 'ok' },
        ]);
        const h = await health();
        expect(h.symbols[0]).toMatchObject({ stale: false, source: 'synthetic' });
        expect(sourceHealth(h, 'yahoo').breaker).toBe(i < FAILURE_THRESHOLD ? 'closed' : 'open');
        expect(h.status).toBe(i < FAILURE_THRESHOLD ? 'ok' : 'degraded');
      }
      const h = await health();
      expect(sourceHealth(h, 'yahoo').successRate).toBeLessThan(1);
      // Open: yahoo is skipped without a request; the fallback answers, still in the same cycle.
      const before = proxy.count;
      const report = await nextCycle();
      expect(proxy.count).toBe(before);
      expect(report).toMatchObject({ ok: 1, failed: 0 });
      expect(attempts()).toEqual([
        { source: 'yahoo', outcome: 'skipped_open' },
        { source: 'synthetic', outcome: 'ok' },
      ]);
      const after = await health();
      expect(after.symbols[0]).toMatchObject({ stale: false, source: 'synthetic' });

      // Recovery: after the half-open wait one probe goes to yahoo; a good answer closes the circuit.
      proxy.setFault(null);
      clock.advance(HALF_OPEN_AFTER_MS + 1_000);
      const probe = await service!.sidecar.runCycle();
      expect(probe).toMatchObject({ ok: 1, failed: 0 });
      expect(attempts()).toEqual([{ source: 'yahoo', outcome: 'ok' }]);
      const healed = await health();
      expect(sourceHealth(healed, 'yahoo').breaker).toBe('closed');
      expect(healed.status).toBe('ok');
      await service!.close();
      // Whatever source served them, everything stored keeps the bar invariants.
      const stored = await readStoredBars(sqlitePath, SYMBOL, '1m');
      expect(stored.length).toBeGreaterThan(0);
      for (const b of stored) expect(barViolations(b, clock.now())).toEqual([]);
    },
  );

  const RATE_LIMITED: FaultSpec = {
    status: 429,
    headers: { 'content-type': 'text/plain', 'retry-after': '120' },
    body: 'Too Many Requests',
  };

  it('HTTP 429 with Retry-After: not counted, yahoo is not contacted until Retry-After has passed, the fallback serves meanwhile', async () => {
    await service!.sidecar.runCycle();
    proxy.setFault(RATE_LIMITED);
    const r1 = await nextCycle();
    expect(r1).toMatchObject({ ok: 1, failed: 0 });
    expect(attempts()).toEqual([
      { source: 'yahoo', outcome: 'failed', code: 'FETCH_RATE_LIMITED' },
      { source: 'synthetic', outcome: 'ok' },
    ]);
    const h1 = await health();
    // A rate limit is the source working as designed: the circuit stays closed, nothing degrades.
    expect(sourceHealth(h1, 'yahoo').breaker).toBe('closed');
    expect(h1.symbols[0]).toMatchObject({ stale: false, source: 'synthetic' });

    // During the cool-down yahoo is not contacted at all (even with the fault gone).
    proxy.setFault(null);
    const before = proxy.count;
    clock.advance(60_000);
    const r2 = await service!.sidecar.runCycle();
    expect(proxy.count).toBe(before);
    expect(r2).toMatchObject({ ok: 1, failed: 0 });
    expect(at(attempts(), 0).source).toBe('yahoo');
    expect(at(attempts(), 0).outcome).toMatch(/^skipped_/);
    expect(attempts().at(-1)).toEqual({ source: 'synthetic', outcome: 'ok' });
    expect((await health()).symbols[0]).toMatchObject({ stale: false, source: 'synthetic' });

    // Once Retry-After (120 s) has passed, yahoo is asked again and serves.
    clock.advance(61_000);
    const r3 = await service!.sidecar.runCycle();
    expect(proxy.count).toBeGreaterThan(before);
    expect(r3).toMatchObject({ ok: 1, failed: 0 });
    expect(attempts()).toEqual([{ source: 'yahoo', outcome: 'ok' }]);
  });

  // Found by this suite and fixed in the sidecar (90dfeab): /health used to show yahoo closed with
  // its full budget during a Retry-After pause, so an operator could not see why it was not used.
  it('HTTP 429 with Retry-After: /health shows that yahoo is paused and until when', async () => {
    await service!.sidecar.runCycle();
    proxy.setFault(RATE_LIMITED);
    await nextCycle();
    const yahoo = sourceHealth(await health(), 'yahoo');
    expect(yahoo.breaker).toBe('closed');
    expect(yahoo.coolingDownUntil).toEqual(expect.any(Number));
    expect(Math.abs(yahoo.coolingDownUntil! - (clock.now() + 120_000))).toBeLessThan(5_000);
    // Once the pause is over, /health no longer reports one.
    proxy.setFault(null);
    clock.advance(121_000);
    await service!.sidecar.runCycle();
    expect(sourceHealth(await health(), 'yahoo').coolingDownUntil).toBeNull();
  });

  // Found by this suite: the budget /health showed the full 60 requests a minute while the fetcher
  // refused every request for Retry-After; the snapshot now reports the block.
  it('HTTP 429 with Retry-After: the budget /health shows for yahoo is 0 while it is blocked', async () => {
    await service!.sidecar.runCycle();
    proxy.setFault(RATE_LIMITED);
    await nextCycle();
    expect(sourceHealth(await health(), 'yahoo').budget.perMinuteLeft).toBe(0);
  });

  // Found by this suite: the "no current bar" rule (SIDECAR_EMPTY_ANSWER) read the clock after the
  // answer arrived, so an Alpha Vantage answer (completed bars only) computed just before a minute
  // boundary and arriving after it was rejected. It is now judged at the time the request was sent.
  it('an Alpha Vantage answer that crosses a minute boundary in flight is accepted', async () => {
    const avProxy = await startFaultProxy(av.url);
    const path = tempSqlitePath('boundary');
    const svc = createService(
      loadConfig({
        SYMBOLS: SYMBOL,
        SOURCES: 'alphavantage,synthetic',
        ALPHAVANTAGE_API_KEY: 'reliability-av-key',
        ALPHAVANTAGE_BASE_URL: avProxy.url,
        SQLITE_PATH: path,
        BOOTSTRAP_DAYS: '0',
      }),
      { scheduler: clock },
    );
    try {
      await svc.sidecar.start({ loop: false });
      // Half a second before the next minute; the answer is computed then, and "arrives" a second
      // later (the proxy moves the shared clock on before passing it back).
      const now = clock.now();
      clock.advance(alignTs(now, '1m') + 60_000 - 500 - now);
      avProxy.setFault((real) => {
        clock.advance(1_000);
        return real;
      });
      await svc.sidecar.runCycle();
      expect(svc.sidecar.symbolState(SYMBOL)!.lastAttempts.map((a) => [a.source, a.outcome, a.code])).toEqual(
        [['alphavantage', 'ok', undefined]],
      );
    } finally {
      await svc.close();
      await avProxy.close();
    }
  });

  it('every source failing: the cycle survives, the symbol turns stale, /health reports down, the last bars stay readable', async () => {
    // Without the synthetic safety net: two real providers down at once.
    const path = tempSqlitePath('all-down');
    const svc = createService(
      loadConfig({
        SYMBOLS: SYMBOL,
        SOURCES: 'yahoo,alphavantage',
        ALPHAVANTAGE_API_KEY: 'reliability-av-key',
        YAHOO_BASE_URL: proxy.url,
        ALPHAVANTAGE_BASE_URL: av.url,
        SQLITE_PATH: path,
        BOOTSTRAP_DAYS: '0',
        STALE_AFTER: '10',
      }),
      { scheduler: clock },
    );
    try {
      await svc.sidecar.start({ loop: false });
      expect(await svc.sidecar.runCycle()).toMatchObject({ ok: 1, failed: 0 });
      proxy.setFault({ status: 503, body: 'down' });
      av.setFault({ status: 503, body: 'down' });
      clock.advance(11_000);
      const report = await svc.sidecar.runCycle();
      expect(report).toMatchObject({ ok: 0, failed: 1 });
      expect(svc.sidecar.symbolState(SYMBOL)!.lastAttempts.map((a) => [a.source, a.outcome, a.code])).toEqual(
        [
          ['yahoo', 'failed', 'FETCH_TRANSIENT'],
          ['alphavantage', 'failed', 'FETCH_TRANSIENT'],
        ],
      );
      const h = (await svc.app.inject({ method: 'GET', url: '/health' })).json<HealthReport>();
      expect(h.status).toBe('down');
      expect(h.symbols[0]).toMatchObject({ symbol: SYMBOL, stale: true, source: 'yahoo' });
      expect(
        (await svc.app.inject({ method: 'GET', url: '/health/ready' })).statusCode,
      ).toBeGreaterThanOrEqual(200);
      const bars = (await svc.app.inject({ method: 'GET', url: `/bars/${SYMBOL}?limit=2` })).json();
      expect(bars).toMatchObject({ stale: true });
      expect(bars.bars.length).toBeGreaterThan(0);
    } finally {
      av.setFault(null);
      await svc.close();
    }
  });
});
