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
});
