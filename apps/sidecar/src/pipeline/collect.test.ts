import { FetchError, alignTs, type Bar } from '@pipeline/core';
import { type FetchLatestManyRequest, type FetchLatestManyResult } from '@pipeline/fetchers';
import { type ScriptedFetcher } from '../../test/scripted-fetcher';
import { type SourceAttempt } from '../errors';
import { createCollector } from './collect';
import { stageFixture } from './stage-fixtures';

/**
 * Gives a scripted fetcher a batch endpoint: `fetchLatestMany` answers up to `maxSymbols` symbols
 * per request (the scripted mode fails the whole request; `notFound` symbols get their own error).
 */
function withBatch(f: ScriptedFetcher, maxSymbols: number) {
  const batched = Object.assign(f, {
    batches: [] as string[][],
    notFound: new Set<string>(),
    async fetchLatestMany(req: FetchLatestManyRequest): Promise<FetchLatestManyResult> {
      batched.batches.push([...req.symbols]);
      const out: FetchLatestManyResult = new Map();
      const mode = f.mode;
      if (mode !== 'ok' && mode !== 'hang')
        throw new FetchError({ kind: mode, source: f.source, message: `scripted batch ${mode}` });
      for (const symbol of req.symbols) {
        if (batched.notFound.has(symbol)) {
          out.set(
            symbol,
            new FetchError({ kind: 'symbol_not_found', source: f.source, symbol, message: 'no' }),
          );
          continue;
        }
        const bars: Bar[] = await f.fetchLatest({ symbol, timeframe: req.timeframe, limit: req.limit });
        out.set(symbol, bars);
      }
      f.calls -= req.symbols.length - batched.notFound.size; // one request, not one per symbol
      return out;
    },
  });
  (f as { capabilities: ScriptedFetcher['capabilities'] }).capabilities = {
    ...f.capabilities,
    batchLatest: { timeframes: f.capabilities.timeframes, maxSymbols, maxLimit: null, costPerSymbol: 0 },
  };
  return batched;
}

/** The fixture's i-th scripted source (the test config has two: yahoo, synthetic). */
function source(f: ReturnType<typeof stageFixture>, i: number): ScriptedFetcher {
  const x = f.fetchers[i];
  if (!x) throw new Error(`the fixture has no source ${i}`);
  return x;
}

const outcomes = (attempts: readonly SourceAttempt[]) => attempts.map((a) => `${a.source}=${a.outcome}`);

function collector(f: ReturnType<typeof stageFixture>, afterCycle = () => undefined) {
  return createCollector({
    ...f,
    symbols: f.config.symbols,
    timeframe: f.config.timeframe,
    intervalMs: f.config.collectionIntervalMs,
    fetchConcurrency: f.config.fetchConcurrency,
    isStopping: () => false,
    afterCycle,
  });
}

describe('collect', () => {
  it('fetches every symbol from its first source and writes the accepted bars in one batch', async () => {
    const f = stageFixture();
    try {
      const c = collector(f);
      const fetched: string[] = [];
      c.onFetched((i) => fetched.push(`${i.symbol}:${i.source}`));
      const report = await c.runCycle();
      expect(report).toMatchObject({ cycle: 1, ok: 2, failed: 0, streamed: 0 });
      expect(report.barsWritten).toBeGreaterThan(0);
      expect(fetched.sort()).toEqual(['EURUSD:yahoo', 'XAUUSD:yahoo']);
      expect(c.cycles).toBe(1);
      expect(f.states.get('EURUSD').lastBar?.ts).toBe(alignTs(f.clock.now(), '1m'));
    } finally {
      await f.close();
    }
  });

  it('falls back in the same cycle, and counts a symbol failed (logged once per streak) when every source fails', async () => {
    const f = stageFixture();
    try {
      const c = collector(f);
      source(f, 0).mode = 'transient';
      const r1 = await c.runCycle();
      expect(r1).toMatchObject({ ok: 2, failed: 0 });
      expect(f.states.get('EURUSD').lastSource).toBe('synthetic');
      for (const x of f.fetchers) x.mode = 'transient';
      await c.runCycle();
      const r3 = await c.runCycle();
      expect(r3).toMatchObject({ ok: 0, failed: 2 });
      expect(f.states.get('EURUSD').consecutiveFailures).toBe(2);
      expect(f.log.entries.filter((e) => e.message.startsWith('every source failed'))).toHaveLength(2);
    } finally {
      await f.close();
    }
  });

  it('counts a symbol the stream delivers as streamed and still polls its forming bar, and runs afterCycle before announcing', async () => {
    const f = stageFixture();
    try {
      const order: string[] = [];
      const c = collector(f, () => void order.push('after'));
      c.onCycle(() => order.push('report'));
      const ts = alignTs(f.clock.now(), '1m');
      c.onStreamBar(
        {
          symbol: 'EURUSD',
          timeframe: '1m',
          ts,
          open: 1.1,
          high: 1.2,
          low: 1,
          close: 1.15,
          volume: 0,
          source: 'polygon',
          final: false,
          quality: 1,
        },
        'polygon',
      );
      expect(f.states.get('EURUSD').lastSource).toBe('polygon');
      const report = await c.runCycle();
      expect(report).toMatchObject({ ok: 2, streamed: 1 });
      expect(source(f, 0).served.has('EURUSD')).toBe(true);
      expect(order).toEqual(['after', 'report']);
    } finally {
      await f.close();
    }
  });

  it("counts each answer's rejected bars and the bars ingested per source, and writes a stream bar on its own", async () => {
    const f = stageFixture();
    try {
      const [yahoo, synthetic] = [source(f, 0), source(f, 1)];
      // EURUSD's yahoo answer carries a broken bar (high below low) between its two good ones;
      // XAUUSD falls back to synthetic.
      const fetchLatest = yahoo.fetchLatest.bind(yahoo);
      yahoo.fetchLatest = async (req) => {
        if (req.symbol === 'XAUUSD')
          throw new FetchError({ kind: 'transient', source: 'yahoo', message: 'x' });
        const [a, b] = await fetchLatest(req);
        if (!a || !b) throw new Error('the scripted answer has two bars');
        return [a, { ...a, ts: a.ts + 1, high: a.low - 1 }, b];
      };
      const ingested: string[] = [];
      const inc = f.metrics.barsIngested.inc.bind(f.metrics.barsIngested);
      f.metrics.barsIngested.inc = (labels, n) => {
        ingested.push(`${labels.source}:${n ?? 1}`);
        inc(labels, n);
      };
      const written: Bar[][] = [];
      const write = f.sinks.writeBars.bind(f.sinks);
      f.sinks.writeBars = (bars) => {
        written.push([...bars]);
        return write(bars);
      };
      const c = collector(f);
      const report = await c.runCycle();
      expect(report).toMatchObject({ ok: 2, failed: 0, barsWritten: 4, barsRejected: 1 });
      expect(ingested.sort()).toEqual(['synthetic:2', 'yahoo:2']);
      expect(synthetic.served.has('XAUUSD')).toBe(true);
      const ts = alignTs(f.clock.now(), '1m');
      expect(written).toHaveLength(1);
      expect(written[0]?.map((b) => `${b.symbol}:${b.ts - ts}`).sort()).toEqual([
        'EURUSD:-60000',
        'EURUSD:0',
        'XAUUSD:-60000',
        'XAUUSD:0',
      ]);
      // A stream bar: ingested and written at once, alone (exactly its accepted bars); one the
      // validator refuses writes nothing.
      const streamed: Bar = {
        ...(written[0]?.find((b) => b.symbol === 'EURUSD' && b.ts === ts) as Bar),
        source: 'polygon',
      };
      c.onStreamBar({ ...streamed, close: streamed.high }, 'polygon');
      c.onStreamBar({ ...streamed, high: streamed.low - 1 }, 'polygon');
      await new Promise((r) => setImmediate(r));
      expect(written).toHaveLength(2);
      expect(written[1]).toEqual([
        expect.objectContaining({ symbol: 'EURUSD', ts, source: 'polygon', close: streamed.high }),
      ]);
      expect(f.states.get('EURUSD').lastSource).toBe('polygon');
    } finally {
      await f.close();
    }
  });

  it('asks a batch source for many symbols in one request, through its breaker once per request', async () => {
    const f = stageFixture({ SYMBOLS: 'EURUSD,XAUUSD,BTCUSD' });
    try {
      const yahoo = withBatch(source(f, 0), 2);
      const c = collector(f);
      const fetched: string[] = [];
      c.onFetched((i) => fetched.push(`${i.symbol}:${i.source}`));
      const report = await c.runCycle();
      expect(report).toMatchObject({ ok: 3, failed: 0 });
      expect(report.barsWritten).toBeGreaterThan(0);
      expect(yahoo.batches).toEqual([['EURUSD', 'XAUUSD'], ['BTCUSD']]);
      expect(fetched.sort()).toEqual(['BTCUSD:yahoo', 'EURUSD:yahoo', 'XAUUSD:yahoo']);
      expect(f.breaker.snapshot('yahoo').counts.calls).toBe(2);
      expect(source(f, 1).calls).toBe(0);
      expect(outcomes(f.states.get('BTCUSD').lastAttempts)).toEqual(['yahoo=ok']);
      expect(f.states.get('EURUSD').lastBar?.ts).toBe(alignTs(f.clock.now(), '1m'));
      expect(f.signals.get('XAUUSD')).not.toBeNull();
      const text = await f.metrics.text();
      expect(text).toMatch(/pipeline_fetch_duration_seconds_count\{source="yahoo"\} 2/);
    } finally {
      await f.close();
    }
  });

  it("falls back per symbol when a batch fails; the failures trip the batch source's breaker, which is then skipped", async () => {
    const f = stageFixture();
    try {
      const yahoo = withBatch(source(f, 0), 10);
      const c = collector(f);
      yahoo.mode = 'transient';
      const r1 = await c.runCycle();
      expect(r1).toMatchObject({ ok: 2, failed: 0 });
      expect(f.states.get('EURUSD').lastSource).toBe('synthetic');
      expect(outcomes(f.states.get('EURUSD').lastAttempts)).toEqual(['yahoo=failed', 'synthetic=ok']);
      expect(source(f, 1).calls).toBe(2);
      // One breaker call per failed batch (not one per symbol) until the circuit opens.
      let cycles = 1;
      while (f.breaker.snapshot('yahoo').state !== 'open' && cycles < 20) {
        f.clock.advance(1000);
        await c.runCycle();
        cycles++;
      }
      expect(f.breaker.snapshot('yahoo').state).toBe('open');
      expect(f.breaker.snapshot('yahoo').counts.calls).toBe(cycles);
      const asked = yahoo.batches.length;
      f.clock.advance(1000);
      expect(await c.runCycle()).toMatchObject({ ok: 2, failed: 0 });
      expect(yahoo.batches).toHaveLength(asked);
      expect(outcomes(f.states.get('XAUUSD').lastAttempts)).toEqual(['yahoo=skipped_open', 'synthetic=ok']);
    } finally {
      await f.close();
    }
  });

  it("serves a read that came in during a batch's answers before the next batch request and the write step", async () => {
    // One batch of 2 in flight at a time.
    const f = stageFixture({ SYMBOLS: 'EURUSD,XAUUSD,BTCUSD', FETCH_CONCURRENCY: '2' });
    try {
      const yahoo = withBatch(source(f, 0), 2);
      const order: string[] = [];
      const ask = yahoo.fetchLatestMany.bind(yahoo);
      yahoo.fetchLatestMany = (req) => {
        order.push(`batch ${req.symbols.join(',')}`);
        return ask(req);
      };
      const write = f.sinks.writeBars.bind(f.sinks);
      f.sinks.writeBars = (bars) => {
        order.push('write');
        return write(bars);
      };
      // A read queued when the batch's last signal exists (as a request waiting for the event
      // loop): the answers need no I/O, so only the gate's pause at the end of the batch lets it in.
      f.signals.onSignal((s) => {
        if (s.symbol === 'XAUUSD') setImmediate(() => order.push('read'));
      });
      await collector(f).runCycle();
      expect(order).toEqual(['batch EURUSD,XAUUSD', 'read', 'batch BTCUSD', 'write']);
    } finally {
      await f.close();
    }
  });

  it('batches only the due symbols, leaves out of the request the ones the planner refuses (they fall back), and writes every accepted bar once, in order', async () => {
    const f = stageFixture({ SYMBOLS: 'EURUSD,XAUUSD,BTCUSD,ETHUSD,GBPUSD' });
    try {
      const yahoo = withBatch(source(f, 0), 2);
      const written: (Bar | undefined)[] = [];
      const write = f.sinks.writeBars.bind(f.sinks);
      f.sinks.writeBars = (bars) => {
        written.push(...bars);
        return write(bars);
      };
      const c = createCollector({
        ...f,
        symbols: f.config.symbols,
        timeframe: f.config.timeframe,
        intervalMs: f.config.collectionIntervalMs,
        fetchConcurrency: f.config.fetchConcurrency,
        isStopping: () => false,
        planner: {
          // BTCUSD's turn is later; yahoo's budget refuses ETHUSD (synthetic takes it).
          beginCycle: (symbols) => new Set(symbols.filter((s) => s !== 'BTCUSD')),
          admit: (src, symbol) => !(src === 'yahoo' && symbol === 'ETHUSD'),
          plan: () => [],
          refreshIntervals: () => ({}),
          shortfalls: () => [],
        },
      });
      const report = await c.runCycle();
      expect(report).toMatchObject({ ok: 4, failed: 0, waiting: 1 });
      expect(yahoo.batches).toEqual([['EURUSD', 'XAUUSD'], ['GBPUSD']]);
      expect(f.states.get('ETHUSD').lastSource).toBe('synthetic');
      expect(outcomes(f.states.get('ETHUSD').lastAttempts)).toEqual(['yahoo=skipped_budget', 'synthetic=ok']);
      expect(f.states.get('BTCUSD').lastBar).toBeNull();
      // Two bars per symbol on a first answer (more than the one per symbol the write list is sized for).
      expect(report.barsWritten).toBe(8);
      expect(written).toHaveLength(8);
      const bySymbol = new Map<string, number[]>();
      for (const b of written) {
        if (b === undefined) throw new Error('a hole in the written bars');
        bySymbol.set(b.symbol, [...(bySymbol.get(b.symbol) ?? []), b.ts]);
      }
      const ts = alignTs(f.clock.now(), '1m');
      for (const symbol of ['EURUSD', 'XAUUSD', 'GBPUSD', 'ETHUSD'])
        expect(bySymbol.get(symbol)).toEqual([ts - 60_000, ts]);
      // Next cycle: the forming bars only, and ETHUSD fails everywhere (fewer bars than due symbols).
      source(f, 1).mode = 'transient';
      f.clock.advance(1000);
      written.length = 0;
      const next = await c.runCycle();
      expect(next).toMatchObject({ ok: 3, failed: 1, barsWritten: 3 });
      // (Batches run side by side: the order between them is the order their answers came in.)
      expect(written.map((b) => b && `${b.symbol}:${b.ts}`).sort()).toEqual([
        `EURUSD:${ts}`,
        `GBPUSD:${ts}`,
        `XAUUSD:${ts}`,
      ]);
    } finally {
      await f.close();
    }
  });

  it('without a batch source: counts the waiting symbols, fetches the due ones one by one (a refused source skipped)', async () => {
    const f = stageFixture({ SYMBOLS: 'EURUSD,XAUUSD,BTCUSD' });
    try {
      const c = createCollector({
        ...f,
        symbols: f.config.symbols,
        timeframe: f.config.timeframe,
        intervalMs: f.config.collectionIntervalMs,
        fetchConcurrency: f.config.fetchConcurrency,
        isStopping: () => false,
        planner: {
          beginCycle: (symbols) => new Set(symbols.filter((s) => s !== 'BTCUSD')),
          admit: (src, symbol) => !(src === 'yahoo' && symbol === 'XAUUSD'),
          plan: () => [],
          refreshIntervals: () => ({}),
          shortfalls: () => [],
        },
      });
      expect(await c.runCycle()).toMatchObject({ ok: 2, failed: 0, waiting: 1 });
      expect(source(f, 0).calls).toBe(1);
      expect(outcomes(f.states.get('XAUUSD').lastAttempts)).toEqual(['yahoo=skipped_budget', 'synthetic=ok']);
      expect(outcomes(f.states.get('EURUSD').lastAttempts)).toEqual(['yahoo=ok']);
      expect(f.states.get('BTCUSD').lastBar).toBeNull();
    } finally {
      await f.close();
    }
  });

  it('falls back alone for a symbol the batch answer did not serve', async () => {
    const f = stageFixture();
    try {
      const yahoo = withBatch(source(f, 0), 10);
      yahoo.notFound.add('XAUUSD');
      const c = collector(f);
      expect(await c.runCycle()).toMatchObject({ ok: 2, failed: 0 });
      expect(f.states.get('EURUSD').lastSource).toBe('yahoo');
      expect(f.states.get('XAUUSD').lastSource).toBe('synthetic');
      expect(outcomes(f.states.get('XAUUSD').lastAttempts)).toEqual(['yahoo=failed', 'synthetic=ok']);
      expect(f.states.get('XAUUSD').lastAttempts[0]?.code).toBe('FETCH_SYMBOL_NOT_FOUND');
      expect(f.breaker.snapshot('yahoo').state).toBe('closed');
    } finally {
      await f.close();
    }
  });
});
