import { cleanupTempDirs } from '@pipeline/test-utils';
import { type Bar } from '@pipeline/core';
import { buildApp } from './api';
import { MAX_BASE_BARS_READ, resampleBars } from './bars';
import { createHarness } from '../../test/harness';
import { at } from '../../test/at';

afterAll(() => cleanupTempDirs());

const T0 = Date.UTC(2024, 0, 3, 10, 0);
/** 90 one-minute bars from 10:00 with distinct, checkable values. */
const base: Bar[] = Array.from({ length: 90 }, (_, i) => ({
  symbol: 'EURUSD',
  timeframe: '1m',
  ts: T0 + i * 60_000,
  open: 1.1 + i * 0.0001,
  high: 1.1 + i * 0.0001 + 0.0005 + (i === 17 ? 0.01 : 0),
  low: 1.1 + i * 0.0001 - 0.0005 - (i === 71 ? 0.01 : 0),
  close: 1.1 + i * 0.0001 + 0.0002,
  volume: i + 1,
  source: 'replay',
  final: true,
  quality: 1,
}));

describe('GET /bars/:symbol?timeframe= (resampled from the stored base bars)', () => {
  it('90 minutes of stored 1m bars give two 1h bars, the second forming', async () => {
    const h = createHarness({ SYMBOLS: 'EURUSD' });
    await h.deps.store.backfill(base);
    const app = buildApp(h.sidecar);
    try {
      const res = await app.inject({ method: 'GET', url: '/bars/EURUSD?timeframe=1h' });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({ symbol: 'EURUSD', timeframe: '1h', count: 2, limit: 500, clipped: false });
      const [a, b] = body.bars;
      const first = base.slice(0, 60);
      const second = base.slice(60);
      expect(a).toMatchObject({
        ts: T0,
        timeframe: '1h',
        open: at(first, 0).open,
        high: Math.max(...first.map((x) => x.high)),
        low: Math.min(...first.map((x) => x.low)),
        close: at(first, 59).close,
        volume: first.reduce((s, x) => s + x.volume, 0),
        final: true,
      });
      expect(a.high).toBeCloseTo(1.1 + 17 * 0.0001 + 0.0105, 10);
      expect(b).toMatchObject({
        ts: T0 + 3_600_000,
        open: at(second, 0).open,
        high: Math.max(...second.map((x) => x.high)),
        low: Math.min(...second.map((x) => x.low)),
        close: at(second, 29).close,
        volume: second.reduce((s, x) => s + x.volume, 0),
        final: false,
      });
      expect(b.low).toBeCloseTo(1.1 + 71 * 0.0001 - 0.0105, 10);

      // 15m: 6 bars, UTC aligned; from/to select by open time.
      const q = (
        await app.inject({
          method: 'GET',
          url: `/bars/EURUSD?timeframe=15m&from=${T0 + 900_000}&to=${T0 + 3_600_000}`,
        })
      ).json();
      expect(q.bars.map((x: Bar) => x.ts)).toEqual([1, 2, 3].map((k) => T0 + k * 900_000));
      // With `from`, the window is read from the store: the first `limit` bars from `from`, not the newest.
      const w = (
        await app.inject({ method: 'GET', url: `/bars/EURUSD?timeframe=15m&from=${T0}&limit=2` })
      ).json();
      expect(w.bars.map((x: Bar) => x.ts)).toEqual([T0, T0 + 900_000]);
      expect(w.bars[0]).toMatchObject({ open: at(base, 0).open, close: at(base, 14).close, final: true });
      const m = (
        await app.inject({ method: 'GET', url: `/bars/EURUSD?from=${T0 + 600_000}&to=${T0 + 720_000}` })
      ).json();
      expect(m.bars.map((x: Bar) => x.ts)).toEqual([T0 + 600_000, T0 + 660_000]);

      // A limit above what is served is lowered and said so.
      const big = (await app.inject({ method: 'GET', url: '/bars/EURUSD?timeframe=1h&limit=100000' })).json();
      expect(big).toMatchObject({
        clipped: true,
        limit: Math.min(h.config.maxBarsCache, Math.floor(MAX_BASE_BARS_READ / 60) - 1),
        count: 2,
      });
      const one = (await app.inject({ method: 'GET', url: '/bars/EURUSD?timeframe=1h&limit=1' })).json();
      expect(one).toMatchObject({ clipped: false, limit: 1, count: 1 });
      expect(one.bars[0]).toMatchObject({ ts: T0 + 3_600_000, final: false });

      expect((await app.inject({ method: 'GET', url: '/bars/EURUSD?timeframe=2h' })).statusCode).toBe(400);
    } finally {
      await app.close();
      await h.sidecar.stop();
    }
  });

  it('a replaced forming base bar is folded in once (no double-counted volume)', () => {
    const withReplay = [...base.slice(0, 61), { ...at(base, 60), high: 2, volume: 1000, final: false }];
    const out = resampleBars(withReplay, '1h');
    expect(out).toHaveLength(2);
    expect(out[1]).toMatchObject({ high: 2, volume: 1000, final: false });
  });
});
