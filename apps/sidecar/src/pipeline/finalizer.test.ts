import { TIMEFRAME_MS, alignTs, type Bar } from '@pipeline/core';
import { createFinalizer, FINALIZE_GRACE_MS } from './finalizer';
import { stageFixture } from './stage-fixtures';
import { at } from '../../test/at';

const MIN = TIMEFRAME_MS['1m'];

const forming = (symbol: string, ts: number, volume = 7): Bar => ({
  symbol,
  timeframe: '1m',
  ts,
  open: 100,
  high: 100.5,
  low: 99.5,
  close: 100.2,
  volume,
  source: 'yahoo',
  final: false,
  quality: 1,
});

function setup(f: ReturnType<typeof stageFixture>) {
  return createFinalizer({
    timeframe: '1m',
    sources: f.sources,
    breaker: f.breaker,
    validator: f.validator,
    store: f.store,
    write: (bars) => f.sinks.writeBars(bars),
    now: () => f.clock.now(),
    log: f.log,
  });
}

describe('late finalisation', () => {
  it('a period whose final bar never came is fetched again after it ends and stored final, from one source', async () => {
    const f = stageFixture();
    try {
      const fin = setup(f);
      const ts = alignTs(f.clock.now(), '1m');
      const last = forming('EURUSD', ts);
      f.store.write([last]);
      fin.note([last]);
      fin.kick();
      await fin.idle();
      // Still forming: nothing asked yet.
      expect(at(f.fetchers, 0).historyCalls).toHaveLength(0);
      f.clock.advance(MIN + FINALIZE_GRACE_MS);
      // Yahoo fails now: the fallback source's final bar replaces the whole bar (volume included).
      at(f.fetchers, 0).mode = 'transient';
      fin.kick();
      await fin.idle();
      await f.store.flush();
      const stored = at(
        await f.store.range({ symbol: 'EURUSD', timeframe: '1m', from: ts, to: ts + MIN }),
        0,
      );
      expect(stored).toMatchObject({ ts, final: true, source: 'synthetic', volume: 10 });
      expect(stored.close).not.toBe(last.close);
      expect(fin.pending).toBe(0);
      const cached = await f.cache.latestBars('EURUSD', '1m', 5);
      expect(cached.find((b) => b.ts === ts)).toMatchObject({ final: true, source: 'synthetic' });
    } finally {
      await f.close();
    }
  });

  it('a final bar from the loop takes the period off the queue', async () => {
    const f = stageFixture();
    try {
      const fin = setup(f);
      const ts = alignTs(f.clock.now(), '1m');
      fin.note([forming('EURUSD', ts)]);
      expect(fin.pending).toBe(1);
      fin.note([{ ...forming('EURUSD', ts), final: true }]);
      expect(fin.pending).toBe(0);
    } finally {
      await f.close();
    }
  });

  it('after a restart every finished period still stored as forming is queued and finalised, not only the newest', async () => {
    const f = stageFixture();
    try {
      const now = alignTs(f.clock.now(), '1m');
      // Five stored minutes of which three (not the newest only) were left forming.
      const rows = [5, 4, 3, 2, 1].map((m, i) => ({
        ...forming('XAUUSD', now - m * MIN),
        final: i % 2 === 1,
      }));
      rows[4] = { ...at(rows, 4), final: false };
      f.store.write(rows);
      await f.store.flush();
      const fin = setup(f);
      expect(await fin.scanStore(['EURUSD', 'XAUUSD'])).toBe(3);
      f.clock.advance(FINALIZE_GRACE_MS);
      fin.kick();
      await fin.idle();
      await f.store.flush();
      const stored = await f.store.range({ symbol: 'XAUUSD', timeframe: '1m', from: now - 5 * MIN, to: now });
      expect(stored.map((b) => b.final)).toEqual([true, true, true, true, true]);
      expect(stored.filter((b) => b.source === 'yahoo' && b.volume === 10)).toHaveLength(3);
    } finally {
      await f.close();
    }
  });

  it('asks within the planner budget: a source the planner refuses is not asked', async () => {
    const f = stageFixture();
    try {
      const fin = createFinalizer({
        timeframe: '1m',
        sources: f.sources,
        breaker: f.breaker,
        validator: f.validator,
        store: f.store,
        write: (bars) => f.sinks.writeBars(bars),
        admit: (source) => source !== 'yahoo',
        now: () => f.clock.now(),
        log: f.log,
      });
      fin.note([forming('EURUSD', alignTs(f.clock.now(), '1m'))]);
      f.clock.advance(MIN + FINALIZE_GRACE_MS);
      fin.kick();
      await fin.idle();
      expect(at(f.fetchers, 0).historyCalls).toHaveLength(0);
      expect(at(f.fetchers, 1).historyCalls).toHaveLength(1);
    } finally {
      await f.close();
    }
  });
});
