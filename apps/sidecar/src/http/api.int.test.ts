import { lintMetricsText } from '@pipeline/metrics';
import { cleanupTempDirs } from '@pipeline/test-utils';
import { type FastifyInstance } from 'fastify';
import { buildApp } from './api';
import { createHarness, type Harness } from '../../test/harness';
import { at, defined } from '../../test/at';

afterAll(() => cleanupTempDirs());

const TOKEN = 'test-token-0123456789';

describe('HTTP API (inject, real sidecar state)', () => {
  let h: Harness;
  let app: FastifyInstance;

  beforeAll(async () => {
    h = createHarness({ SYMBOLS: 'EURUSD,NAS100', BROKER: 'oanda' });
    app = buildApp(h.sidecar, { apiToken: TOKEN });
    for (let i = 0; i < 40; i++) {
      await h.sidecar.runCycle();
      h.clock.advance(60_000);
    }
    await h.sidecar.runCycle();
  });
  afterAll(async () => {
    await app.close();
    await h.sidecar.stop();
  });

  const get = (url: string, auth = true) =>
    app.inject({ method: 'GET', url, headers: auth ? { authorization: `Bearer ${TOKEN}` } : {} });

  it('needs the bearer token everywhere but /health*', async () => {
    expect((await get('/signals', false)).statusCode).toBe(401);
    const wrong = await app.inject({
      method: 'GET',
      url: '/signals',
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toEqual({
      error: { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token' },
    });
    expect((await get('/health', false)).statusCode).toBe(200);
    expect((await get('/health/live', false)).statusCode).toBe(200);
    expect((await get('/signals')).statusCode).toBe(200);
  });

  it('GET /health reports sources, symbols and storage', async () => {
    const body = (await get('/health', false)).json();
    expect(body.status).toMatch(/ok|degraded/);
    expect(body.sources.map((s: { name: string }) => s.name)).toEqual(['yahoo', 'synthetic']);
    expect(body.sources[0]).toMatchObject({ breaker: 'closed' });
    expect(body.symbols[0]).toMatchObject({ symbol: 'EURUSD', brokerSymbol: 'EUR_USD', stale: false });
    expect(body.storage).toMatchObject({ cache: 'memory:ready', sqlite: 'up' });
    expect(typeof body.uptimeSec).toBe('number');
  });

  it('GET /health/ready is 503 until the service went live', async () => {
    expect((await get('/health/ready', false)).statusCode).toBe(503);
  });

  it('GET /signals/:symbol answers for generic and broker spellings and carries both', async () => {
    const a = await get('/signals/EURUSD');
    const b = await get('/signals/EUR_USD');
    expect(a.statusCode).toBe(200);
    expect(b.json()).toEqual(a.json());
    const s = a.json();
    expect(s).toMatchObject({ symbol: 'EURUSD', brokerSymbol: 'EUR_USD', stale: false });
    expect(['long', 'short', 'flat']).toContain(s.direction);
    expect(s.confidence).toBeGreaterThanOrEqual(0);
    expect(s.confidence).toBeLessThanOrEqual(1);
    expect(Array.isArray(s.reasons)).toBe(true);
    expect(s.indicators).toHaveProperty('rsi14');
    expect(s.dataTime).toBe(new Date(s.dataTs).toISOString());
    expect((await get('/signals/NAS100_USD')).json().symbol).toBe('NAS100');
  });

  it('GET /signals lists every symbol', async () => {
    const body = (await get('/signals')).json();
    expect(body.count).toBe(2);
    expect(body.signals.map((s: { symbol: string }) => s.symbol)).toEqual(['EURUSD', 'NAS100']);
  });

  it('GET /bars/:symbol returns the latest bars oldest first, matching what the source served', async () => {
    const r = await get('/bars/EUR_USD?limit=5&timeframe=1m');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({
      symbol: 'EURUSD',
      brokerSymbol: 'EUR_USD',
      timeframe: '1m',
      count: 5,
      stale: false,
    });
    const served = defined(at(h.fetchers, 0).served.get('EURUSD'), 'served EURUSD bars');
    expect(body.bars.at(-1)).toEqual(served.at(-1));
    expect(body.bars[0].ts).toBeLessThan(body.bars[4].ts);
  });

  it('GET /features/:symbol returns indicator values', async () => {
    const body = (await get('/features/EURUSD')).json();
    expect(body.symbol).toBe('EURUSD');
    expect(typeof body.values.ema12).toBe('number');
  });

  it('answers 404 with suggestions for unknown symbols and 400 for bad query values', async () => {
    const r = await get('/signals/EURUSX');
    expect(r.statusCode).toBe(404);
    expect(r.json().error).toMatchObject({ code: 'SIDECAR_UNKNOWN_SYMBOL' });
    expect(r.json().error.suggestions).toContain('EURUSD');
    expect((await get('/bars/NOPE?limit=5')).statusCode).toBe(404);
    // Known to the mapper but not collected here.
    expect((await get('/features/GBPUSD')).statusCode).toBe(404);
    for (const q of ['limit=0', 'limit=abc', 'timeframe=2m', 'limit=1000001']) {
      const bad = await get(`/bars/EURUSD?${q}`);
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.code).toBe('BAD_REQUEST');
    }
    expect((await get('/nowhere')).statusCode).toBe(404);
  });

  it('GET /metrics is Prometheus text and /metrics/json the same as JSON', async () => {
    const text = await get('/metrics');
    expect(text.statusCode).toBe(200);
    expect(text.headers['content-type']).toMatch(/^text\/plain/);
    expect(lintMetricsText(text.body)).toEqual([]);
    // 41 cycles ran; every one fetched both symbols from yahoo, two bars each the first time.
    expect(text.body).toMatch(/^pipeline_cycle_duration_seconds_count 41$/m);
    expect(text.body).toMatch(/^pipeline_bars_ingested_total\{source="yahoo"\} \d+$/m);
    expect(text.body).toMatch(/^pipeline_data_age_seconds\{symbol="EURUSD"\} [0-9.]+$/m);
    expect(text.body).toMatch(/^pipeline_breaker_state\{source="yahoo",state="closed"\} 1$/m);
    expect(text.body).toMatch(
      /^pipeline_http_requests_total\{method="GET",route="\/signals\/:symbol",status="200"\} \d+$/m,
    );
    const json = await get('/metrics/json');
    expect(json.statusCode).toBe(200);
    const names = json.json<{ name: string }[]>().map((m) => m.name);
    expect(names).toEqual(
      expect.arrayContaining(['pipeline_cycle_duration_seconds', 'pipeline_bars_ingested_total']),
    );
  });
});
