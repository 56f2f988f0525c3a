import { alignTs } from '@pipeline/core';
import { createCollector } from './collect';
import { stageFixture } from './stage-fixtures';

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
      f.fetchers[0].mode = 'transient';
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
      expect(f.fetchers[0].served.has('EURUSD')).toBe(true);
      expect(order).toEqual(['after', 'report']);
    } finally {
      await f.close();
    }
  });
});
