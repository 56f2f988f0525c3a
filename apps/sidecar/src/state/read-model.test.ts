import { isSidecarError, SIDECAR_ERROR_CODES } from '../errors';
import { flatBars as bars, stageFixture } from '../pipeline/stage-fixtures';
import { createSymbolPort, createMapperFromConfig } from '../wiring/wiring';
import { createReadModel } from './read-model';

const MIN = 60_000;

describe('the read model', () => {
  it('resolves symbol spellings and rejects unknown ones with suggestions', async () => {
    const f = stageFixture({ BROKER: 'oanda' });
    try {
      const reads = createReadModel({
        ...f,
        symbols: createSymbolPort(createMapperFromConfig(f.config), f.config.broker),
      });
      expect(reads.resolveSymbol('EURUSD')).toBe('EURUSD');
      expect(reads.resolveSymbol('EUR_USD')).toBe('EURUSD');
      let err: unknown;
      try {
        reads.resolveSymbol('EURUSX');
      } catch (e) {
        err = e;
      }
      expect(isSidecarError(err, SIDECAR_ERROR_CODES.UNKNOWN_SYMBOL)).toBe(true);
      expect(reads.symbolState('NOPE')).toBeUndefined();
      expect(reads.features('EURUSD')).toBeNull();
    } finally {
      await f.close();
    }
  });

  it('serves bars from the cache, completed from the store, with the stale flag of the one rule', async () => {
    const f = stageFixture();
    try {
      const t0 = Date.UTC(2024, 0, 3);
      f.store.write(bars(t0, 30));
      await f.store.flush();
      await f.cache.writeBars(bars(t0 + 20 * MIN, 10));
      const reads = createReadModel({
        ...f,
        symbols: { resolve: () => null, suggest: () => [] },
      });
      const r = await reads.bars('EURUSD', '1m', 25);
      expect(r.bars.map((b) => b.ts)).toEqual(bars(t0 + 5 * MIN, 25).map((b) => b.ts));
      expect(r).toMatchObject({ stale: true, ageMs: null });
      f.states.get('EURUSD').lastSuccessAt = f.clock.now();
      expect(await reads.bars('EURUSD', '1m', 5)).toMatchObject({ stale: false, ageMs: 0 });
    } finally {
      await f.close();
    }
  });

  it('featuresInto gives features() without its object: the same values, data time (NaN for null) and stale flag', async () => {
    const f = stageFixture();
    try {
      const reads = createReadModel({ ...f, symbols: { resolve: () => null, suggest: () => [] } });
      const out = { dataTs: 123, stale: true };
      expect(reads.featuresInto('EURUSD', out)).toBeNull();
      expect(out).toEqual({ dataTs: 123, stale: true }); // left as it was
      const t0 = Date.UTC(2024, 0, 3);
      const history = bars(t0, 40);
      for (const b of history) f.features.update(b);
      const state = f.states.get('EURUSD');
      const check = () => {
        const whole = reads.features('EURUSD');
        const values = reads.featuresInto('EURUSD', out);
        expect(whole).not.toBeNull();
        expect(values).toBe(whole?.values);
        expect({ dataTs: Number.isNaN(out.dataTs) ? null : out.dataTs, stale: out.stale }).toEqual({
          dataTs: whole?.dataTs,
          stale: whole?.stale,
        });
      };
      check(); // no bar in the state yet: dataTs null, stale (never answered)
      expect(Number.isNaN(out.dataTs)).toBe(true);
      expect(out.stale).toBe(true);
      state.lastBar = history[history.length - 1] ?? null;
      state.lastSuccessAt = f.clock.now();
      state.lastAdvanceAt = f.clock.now();
      check();
      expect(out).toEqual({ dataTs: t0 + 39 * MIN, stale: expect.any(Boolean) });
      f.clock.advance(20_000);
      check();
      expect(out.stale).toBe(true);
    } finally {
      await f.close();
    }
  });
});
