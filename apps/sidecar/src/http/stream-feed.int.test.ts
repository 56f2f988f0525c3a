import { cleanupTempDirs } from '@pipeline/test-utils';
import { feedStreamHub } from './stream-feed';
import { createStreamHub, type HubEvent } from './stream-hub';
import { createHarness } from '../../test/harness';
import { type StreamFeedSource } from './stream-feed';
import { type FeaturesFacts } from '../state/read-model';

afterAll(() => cleanupTempDirs());

describe('the stream feed from a real sidecar', () => {
  it('publishes bars, features and signals per cycle, and a health event when a breaker opens', async () => {
    const h = createHarness({ SYMBOLS: 'EURUSD,XAUUSD' });
    const hub = createStreamHub({ now: () => h.clock.now() });
    const off = feedStreamHub(hub, h.sidecar);
    const seen: HubEvent[] = [];
    hub.subscribe({
      filter: { symbols: new Set(), kinds: new Set(['bars', 'features', 'signals', 'health'] as const) },
      send: (e) => seen.push(e),
    });
    try {
      await h.sidecar.runCycle();
      const kinds = (sym: string) => new Set(seen.filter((e) => e.symbol === sym).map((e) => e.kind));
      expect(kinds('EURUSD')).toEqual(new Set(['bars', 'features', 'signals']));
      expect(kinds('XAUUSD')).toEqual(new Set(['bars', 'features', 'signals']));
      const bar = seen.find((e) => e.kind === 'bars' && e.symbol === 'EURUSD')!.data;
      expect(bar).toMatchObject({ symbol: 'EURUSD', timeframe: '1m', final: expect.any(Boolean) });
      const signal = seen.find((e) => e.kind === 'signals')!.data as { dataTime: string; stale: boolean };
      expect(typeof signal.dataTime).toBe('string');
      expect(seen.some((e) => e.kind === 'health')).toBe(false);
      const ids = seen.map((e) => e.id);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(ids[0]).toBe(h.clock.now() * 1000);

      // Five failed cycles open yahoo's breaker (threshold 5): one health event says so.
      const yahoo = h.fetchers.find((f) => f.source === 'yahoo');
      if (!yahoo) throw new Error('the harness has no yahoo source');
      yahoo.mode = 'transient';
      for (let i = 0; i < 5; i++) {
        h.clock.advance(1000);
        await h.sidecar.runCycle();
      }
      const health = seen.filter((e) => e.kind === 'health');
      expect(health).toHaveLength(1);
      expect(health[0]?.data).toMatchObject({
        breakers: { yahoo: 'open' },
        changed: expect.arrayContaining(['source:yahoo']),
      });
      expect(health[0]).not.toHaveProperty('symbol');
    } finally {
      off();
      await h.sidecar.stop();
    }
  });
});

describe('the stream feed without listeners', () => {
  it('builds no /health report per cycle while nobody listens, and starts when a client subscribes', async () => {
    const h = createHarness({ SYMBOLS: 'EURUSD,XAUUSD' });
    let reports = 0;
    const source = new Proxy(h.sidecar, {
      get(target, key, receiver) {
        if (key === 'health') return () => (reports++, target.health());
        // The summary, where the sidecar gives one, in place of the report: counted the same.
        if (key === 'healthSummary') {
          const summary = Reflect.get(target, key, receiver) as (() => unknown) | undefined;
          return summary && (() => (reports++, summary.call(target)));
        }
        const v: unknown = Reflect.get(target, key, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const hub = createStreamHub({ now: () => h.clock.now() });
    const off = feedStreamHub(hub, source);
    const firstId = hub.lastId;
    try {
      await h.sidecar.runCycle();
      await h.sidecar.runCycle();
      expect(reports).toBe(0);
      // Bars still reach the replay ring for clients that resume later.
      expect(hub.lastId).toBeGreaterThan(firstId);
      hub.subscribe({ filter: { symbols: new Set(), kinds: new Set(['health'] as const) }, send: () => {} });
      await h.sidecar.runCycle();
      expect(reports).toBe(1);
    } finally {
      off();
      await h.sidecar.stop();
    }
  });
});

describe('the stream feed on a real sidecar while a client listens', () => {
  it('reads the sidecar’s healthSummary after each cycle, never the whole /health report', async () => {
    const h = createHarness({ SYMBOLS: 'EURUSD,XAUUSD' });
    const calls = { health: 0, healthSummary: 0 };
    const source = new Proxy(h.sidecar, {
      get(target, key, receiver) {
        const v: unknown = Reflect.get(target, key, receiver);
        if (typeof v !== 'function') return v;
        const fn = (v as (...a: unknown[]) => unknown).bind(target);
        if (key === 'health' || key === 'healthSummary') return (...a: unknown[]) => (calls[key]++, fn(...a));
        return fn;
      },
    });
    const hub = createStreamHub({ now: () => h.clock.now() });
    hub.subscribe({ filter: { symbols: new Set(), kinds: new Set(['health'] as const) }, send: () => {} });
    const off = feedStreamHub(hub, source);
    try {
      for (let i = 0; i < 3; i++) {
        h.clock.advance(1000);
        await h.sidecar.runCycle();
      }
      expect(calls.health).toBe(0);
      // Once when connected (a listener was there already), then once per cycle.
      expect(calls.healthSummary).toBe(4);
      // The summary is the report's status and breakers.
      const report = h.sidecar.health();
      expect(h.sidecar.healthSummary()).toEqual({
        status: report.status,
        sources: report.sources.map((s) => ({ name: s.name, breaker: s.breaker })),
      });
    } finally {
      off();
      await h.sidecar.stop();
    }
  });
});

describe('the stream feed’s bars from a real sidecar', () => {
  it('takes them through onBarsRange (no onBars event or copy) and publishes the bars onBars gives, in order', async () => {
    const h = createHarness({ SYMBOLS: 'EURUSD,XAUUSD' });
    // What the feed reads of the two.
    const subscribed: string[] = [];
    const source = new Proxy(h.sidecar, {
      get(target, key, receiver) {
        const v: unknown = Reflect.get(target, key, receiver);
        if (key === 'onBars' || key === 'onBarsRange') subscribed.push(key);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const hub = createStreamHub({ now: () => h.clock.now() });
    const seen: HubEvent[] = [];
    hub.subscribe({
      filter: { symbols: new Set(), kinds: new Set(['bars', 'features'] as const) },
      send: (e) => seen.push(e),
    });
    const off = feedStreamHub(hub, source);
    const given: { symbol: string; bars: readonly unknown[] }[] = [];
    const offBars = h.sidecar.onBars((e) => given.push(e));
    try {
      for (const step of [0, 1_000, 59_000, 1_000, 59_000]) {
        h.clock.advance(step);
        await h.sidecar.runCycle();
      }
      expect(new Set(subscribed)).toEqual(new Set(['onBarsRange']));
      // Each symbol's bars one event each (the very bar objects), then its features event.
      const expected = given.flatMap((e) => [
        ...e.bars.map((b) => ['bars', e.symbol, b]),
        ['features', e.symbol],
      ]);
      expect(given.length).toBe(10);
      const got = seen.map((e) => (e.kind === 'bars' ? [e.kind, e.symbol, e.data] : [e.kind, e.symbol]));
      expect(got).toEqual(expected);
      for (const [i, e] of seen.entries()) if (e.kind === 'bars') expect(e.data).toBe(expected[i]?.[2]);
    } finally {
      offBars();
      off();
      await h.sidecar.stop();
    }
  });
});

describe('stream limits from the environment', () => {
  it('STREAM_REPLAY_SIZE, STREAM_MAX_QUEUE and STREAM_BACKFILL_MAX_BARS reach the hub; bad values name the variable', async () => {
    const { loadConfig } = await import('../wiring/config');
    const { createService } = await import('../wiring/service');
    const { tempSqlitePath } = await import('@pipeline/test-utils');
    expect(() => loadConfig({ STREAM_MAX_QUEUE: '0' })).toThrow(/STREAM_MAX_QUEUE/);
    expect(() => loadConfig({ STREAM_REPLAY_SIZE: 'lots' })).toThrow(/STREAM_REPLAY_SIZE/);
    expect(() => loadConfig({ STREAM_BACKFILL_MAX_BARS: '-1' })).toThrow(/STREAM_BACKFILL_MAX_BARS/);
    const config = loadConfig({
      SYMBOLS: 'EURUSD',
      SOURCES: 'synthetic',
      BOOTSTRAP_DAYS: '0',
      SQLITE_PATH: tempSqlitePath('stream-env'),
      STREAM_REPLAY_SIZE: '2',
      STREAM_MAX_QUEUE: '3',
      STREAM_BACKFILL_MAX_BARS: '4',
    });
    expect(config).toMatchObject({ streamReplaySize: 2, streamMaxQueue: 3, streamBackfillMaxBars: 4 });
    const service = createService(config);
    try {
      expect(service.app.streamHub.options).toEqual({ ringSize: 2, maxQueue: 3, maxBackfillBars: 4 });
      // A ring of 2 per kind: resuming from before the first of three events says reset.
      const hub = service.app.streamHub;
      const mark = hub.lastId;
      for (let i = 0; i < 3; i++) hub.publish('signals', 'EURUSD', { i });
      const r = hub.replay({ symbols: new Set(), kinds: new Set(['signals']) }, mark);
      expect(r.reset).toEqual(['signals']);
      expect(r.events.map((e) => e.data)).toEqual([{ i: 1 }, { i: 2 }]);
    } finally {
      await service.close();
    }
  });
});

describe('the features event', () => {
  const FEATURES = { symbols: new Set<string>(), kinds: new Set(['features', 'bars'] as const) };

  it('is `{ symbol, ...features() }` as of publishing, read through featuresInto or features, subscribed or replayed', async () => {
    const h = createHarness({ SYMBOLS: 'EURUSD,XAUUSD' });
    // The same sidecar without featuresInto: the feed falls back on features().
    const plain = new Proxy(h.sidecar, {
      get(target, key, receiver) {
        if (key === 'featuresInto') return undefined;
        const v: unknown = Reflect.get(target, key, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const hubs = [h.sidecar, plain].map((source) => {
      const hub = createStreamHub({ now: () => h.clock.now() });
      return { hub, off: feedStreamHub(hub, source) };
    });
    const live: HubEvent[] = [];
    hubs[0]?.hub.subscribe({ filter: FEATURES, send: (e) => live.push(e) });
    try {
      const expected: unknown[] = [];
      for (let cycle = 0; cycle < 3; cycle++) {
        // A gap longer than STALE_AFTER before the last cycle.
        if (cycle === 2) h.clock.advance(h.sidecar.config.staleAfterMs + 1_000);
        await h.sidecar.runCycle();
        for (const symbol of ['EURUSD', 'XAUUSD']) {
          const f = h.sidecar.features(symbol);
          if (f) expected.push({ symbol, ...f });
        }
        h.clock.advance(1_000);
      }
      expect(expected.length).toBeGreaterThan(0);
      const data = (events: HubEvent[]) => events.filter((e) => e.kind === 'features').map((e) => e.data);
      // Subscribed (made at once) and replayed (made on read), both ways of reading the features.
      expect(data(live)).toEqual(expected);
      for (const { hub } of hubs) expect(data(hub.replay(FEATURES, 0).events)).toEqual(expected);
      expect(JSON.stringify(data(hubs[1]?.hub.replay(FEATURES, 0).events ?? []))).toBe(
        JSON.stringify(expected),
      );
    } finally {
      for (const { off } of hubs) off();
      await h.sidecar.stop();
    }
  });

  it('keeps each event’s own data time and stale flag (null before any bar)', () => {
    let bars: ((e: { symbol: string; bars: readonly never[] }) => void) | undefined;
    const values = { rsi14: 50 };
    const facts: FeaturesFacts[] = [
      { dataTs: Number.NaN, stale: true },
      { dataTs: 60_000, stale: false },
      { dataTs: 120_000, stale: true },
    ];
    let k = 0;
    const source: StreamFeedSource = {
      onBars: (fn) => ((bars = fn), () => {}),
      onSignal: () => () => {},
      onCycle: () => () => {},
      config: { staleAfterMs: 10_000 },
      features: () => null,
      featuresInto(_symbol, out) {
        const f = facts[k++];
        if (!f) return null;
        out.dataTs = f.dataTs;
        out.stale = f.stale;
        return values;
      },
      health: () => {
        throw new Error('not asked while nobody listens');
      },
    };
    const hub = createStreamHub({ now: () => 1_000 });
    const off = feedStreamHub(hub, source);
    for (let i = 0; i < 4; i++) bars?.({ symbol: 'EURUSD', bars: [] });
    off();
    expect(hub.replay(FEATURES, 0).events.map((e) => e.data)).toEqual([
      { symbol: 'EURUSD', values, dataTs: null, stale: true },
      { symbol: 'EURUSD', values, dataTs: 60_000, stale: false },
      { symbol: 'EURUSD', values, dataTs: 120_000, stale: true },
    ]);
  });
});

describe('the feed’s health events from a summary', () => {
  it('reads healthSummary, when the source has one, instead of the whole report', () => {
    let cycle: (() => void) | undefined;
    const summary = { status: 'ok' as const, sources: [{ name: 'yahoo' as const, breaker: 'closed' }] };
    const source: StreamFeedSource = {
      onBars: () => () => {},
      onSignal: () => () => {},
      onCycle: (fn) => ((cycle = fn), () => {}),
      config: { staleAfterMs: 10_000 },
      features: () => null,
      health: () => {
        throw new Error('the whole report is not read');
      },
      healthSummary: () => ({ ...summary, sources: summary.sources.map((s) => ({ ...s })) }),
    };
    const hub = createStreamHub({ now: () => 1_000 });
    const got: HubEvent[] = [];
    hub.subscribe({
      filter: { symbols: new Set(), kinds: new Set(['health'] as const) },
      send: (e) => got.push(e),
    });
    const off = feedStreamHub(hub, source);
    cycle?.();
    (summary.sources[0] as { breaker: string }).breaker = 'open';
    cycle?.();
    off();
    expect(got.map((e) => e.data)).toEqual([
      { status: 'ok', previous: 'ok', breakers: { yahoo: 'open' }, changed: ['source:yahoo'] },
    ]);
  });
});
