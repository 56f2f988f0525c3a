import { TIMEFRAME_MS, alignTs, type Bar } from '@pipeline/core';
import {
  createFinalizer,
  FINALIZE_FAST_ATTEMPTS,
  FINALIZE_GRACE_MS,
  FINALIZE_MAX_BACKOFF_MS,
  finalizeBackoffMs,
  type FinalizerOptions,
} from './finalizer';
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

function setup(f: ReturnType<typeof stageFixture>, extra: Partial<FinalizerOptions> = {}) {
  return createFinalizer({
    timeframe: '1m',
    sources: f.sources,
    breaker: f.breaker,
    validator: f.validator,
    store: f.store,
    write: (bars) => f.sinks.writeBars(bars),
    now: () => f.clock.now(),
    log: f.log,
    ...extra,
  });
}

/** `seconds` cycles of the 1 Hz loop: the clock moves a second, then the loop's kick. */
async function cycles(f: ReturnType<typeof stageFixture>, fin: ReturnType<typeof setup>, seconds: number) {
  for (let i = 0; i < seconds; i++) {
    f.clock.advance(1000);
    fin.kick();
    await fin.idle();
  }
}

const storedAt = async (f: ReturnType<typeof stageFixture>, symbol: string, ts: number) => {
  await f.store.flush();
  return at(await f.store.range({ symbol, timeframe: '1m', from: ts, to: ts + MIN }), 0);
};

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

  it("notes only the range of a write list it is given (the bars of one symbol among the cycle's)", async () => {
    const f = stageFixture();
    try {
      const fin = setup(f);
      const ts = alignTs(f.clock.now(), '1m');
      // The cycle's list: other symbols' forming bars around this symbol's two.
      const list = [
        forming('XAUUSD', ts),
        forming('EURUSD', ts - MIN),
        forming('EURUSD', ts),
        forming('NAS100', ts),
      ];
      fin.note(list, 1, 3);
      expect(fin.stats()).toMatchObject({ pending: 2, oldestPendingTs: ts - MIN });
      // Nothing before `from` or from `to` on was queued: the loop's final bars of those two periods
      // empty the queue.
      fin.note([
        { ...forming('EURUSD', ts - MIN), final: true },
        { ...forming('EURUSD', ts), final: true },
      ]);
      expect(fin.pending).toBe(0);
      // An empty range notes nothing; `from` alone runs to the end.
      fin.note(list, 2, 2);
      expect(fin.pending).toBe(0);
      fin.note(list, 3);
      expect(fin.pending).toBe(1);
      fin.note([{ ...forming('NAS100', ts), final: true }]);
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

  it('a period whose sources fail for much longer than 20 cycles stays pending (with backoff) and is finalised once one recovers', async () => {
    const f = stageFixture();
    try {
      const fin = setup(f);
      const ts = alignTs(f.clock.now(), '1m');
      const last = forming('EURUSD', ts);
      f.store.write([last]);
      fin.note([last]);
      f.clock.advance(MIN + FINALIZE_GRACE_MS);
      for (const x of f.fetchers) x.mode = 'transient';
      // Five minutes down at 1 Hz: 300 kicks, fifteen times what the finaliser used to give a period.
      await cycles(f, fin, 300);
      expect(fin.pending).toBe(1);
      expect(fin.stats()).toMatchObject({ pending: 1, retrying: 1, givenUp: 0, oldestPendingTs: ts });
      // Asked now and then (the breakers' probes), not once per kick.
      const asks = f.fetchers.reduce((n, x) => n + x.historyCalls.length, 0);
      expect(asks).toBeGreaterThan(0);
      expect(asks).toBeLessThan(150);
      expect((await storedAt(f, 'EURUSD', ts)).final).toBe(false);

      for (const x of f.fetchers) x.mode = 'ok';
      // Within the longest backoff (and the breaker's cooldown) the period is asked again and finalised.
      await cycles(f, fin, FINALIZE_MAX_BACKOFF_MS / 1000 + 60);
      expect(fin.stats()).toMatchObject({ pending: 0, retrying: 0, givenUp: 0, oldestPendingTs: null });
      expect(await storedAt(f, 'EURUSD', ts)).toMatchObject({ ts, final: true, volume: 10 });
      expect(f.log.entries.filter((e) => e.level === 'warn')).toHaveLength(0);
    } finally {
      await f.close();
    }
  });

  it('a period no source ever finalises is given up at giveUpAfterMs: counted, logged, its row kept as forming', async () => {
    const f = stageFixture();
    try {
      const fin = setup(f, { giveUpAfterMs: 10 * MIN });
      const ts = alignTs(f.clock.now(), '1m');
      const last = forming('XAUUSD', ts);
      f.store.write([last]);
      fin.note([last]);
      for (const x of f.fetchers) x.mode = 'transient';
      await cycles(f, fin, (MIN + 9 * MIN) / 1000);
      expect(fin.stats()).toMatchObject({ pending: 1, givenUp: 0 });
      await cycles(f, fin, FINALIZE_MAX_BACKOFF_MS / 1000 + 60);
      expect(fin.stats()).toEqual({
        pending: 0,
        retrying: 0,
        givenUp: 1,
        lastGivenUp: { symbol: 'XAUUSD', ts },
        oldestPendingTs: null,
      });
      const warned = f.log.entries.filter((e) => e.level === 'warn');
      expect(warned).toHaveLength(1);
      expect(at(warned, 0).meta).toMatchObject({ periods: 1, givenUpTotal: 1 });
      expect(await storedAt(f, 'XAUUSD', ts)).toMatchObject({ ts, final: false, close: last.close });
    } finally {
      await f.close();
    }
  });

  it('final bars whose write fails go back to the queue and are written by a later pass', async () => {
    const f = stageFixture();
    try {
      let failWrites = 1;
      const fin = setup(f, {
        write: async (bars) => {
          if (failWrites-- > 0) throw new Error('store down');
          await f.sinks.writeBars(bars);
        },
      });
      const ts = alignTs(f.clock.now(), '1m');
      const last = forming('EURUSD', ts);
      f.store.write([last]);
      fin.note([last]);
      f.clock.advance(MIN + FINALIZE_GRACE_MS);
      fin.kick();
      await fin.idle();
      expect(fin.pending).toBe(1);
      await cycles(f, fin, 1);
      expect(fin.pending).toBe(0);
      expect(await storedAt(f, 'EURUSD', ts)).toMatchObject({ final: true });
    } finally {
      await f.close();
    }
  });

  it('the backoff: every kick for the fast attempts, then doubling from 2 s to the cap', () => {
    expect(finalizeBackoffMs(1)).toBe(0);
    expect(finalizeBackoffMs(FINALIZE_FAST_ATTEMPTS - 1)).toBe(0);
    expect(finalizeBackoffMs(FINALIZE_FAST_ATTEMPTS)).toBe(2_000);
    expect(finalizeBackoffMs(FINALIZE_FAST_ATTEMPTS + 3)).toBe(16_000);
    expect(finalizeBackoffMs(FINALIZE_FAST_ATTEMPTS + 30)).toBe(FINALIZE_MAX_BACKOFF_MS);
  });

  it('a period the sources answer without (no error, so no breaker) is asked with backoff, then finalised when it appears', async () => {
    const f = stageFixture();
    try {
      const yahoo = at(f.fetchers, 0);
      let lacking = true;
      let asks = 0;
      const fin = setup(f, {
        sources: [
          {
            name: yahoo.source,
            fetcher: {
              ...yahoo,
              fetchHistory: async (req) => {
                asks++;
                return lacking ? [] : yahoo.fetchHistory(req);
              },
            },
          },
        ],
      });
      const ts = alignTs(f.clock.now(), '1m');
      fin.note([forming('NAS100', ts)]);
      f.clock.advance(MIN + FINALIZE_GRACE_MS);
      await cycles(f, fin, 600);
      // 20 asks at 1 Hz, then 2, 4, ... 256 s apart: 28 in ten minutes instead of 600.
      expect(asks).toBeGreaterThanOrEqual(FINALIZE_FAST_ATTEMPTS + 5);
      expect(asks).toBeLessThanOrEqual(FINALIZE_FAST_ATTEMPTS + 10);
      expect(fin.stats()).toMatchObject({ pending: 1, retrying: 1, givenUp: 0 });
      lacking = false;
      await cycles(f, fin, FINALIZE_MAX_BACKOFF_MS / 1000);
      expect(fin.pending).toBe(0);
      expect(await storedAt(f, 'NAS100', ts)).toMatchObject({ ts, final: true, source: 'yahoo' });
    } finally {
      await f.close();
    }
  });

  it('finalises a period after the live series moved past it (the live validator refuses older bars)', async () => {
    const f = stageFixture();
    try {
      const fin = setup(f);
      const ts = alignTs(f.clock.now(), '1m');
      const last = forming('EURUSD', ts);
      f.store.write([last]);
      fin.note([last]);
      f.clock.advance(MIN + FINALIZE_GRACE_MS);
      // The loop validated the next periods' bars meanwhile: to the live series, ts is in the past.
      expect(f.validator.validate(forming('EURUSD', ts)).status).not.toBe('rejected');
      expect(f.validator.validate(forming('EURUSD', ts + MIN)).status).not.toBe('rejected');
      expect(f.validator.validate({ ...forming('EURUSD', ts), final: true }).status).toBe('rejected');
      fin.kick();
      await fin.idle();
      expect(fin.pending).toBe(0);
      expect(await storedAt(f, 'EURUSD', ts)).toMatchObject({ ts, final: true, volume: 10 });
    } finally {
      await f.close();
    }
  });
});
