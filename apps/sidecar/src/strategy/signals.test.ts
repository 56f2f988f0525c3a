import { ManualClock, type Bar } from '@pipeline/core';
import { createMetricsFromConfig } from '../wiring/wiring';
import { createSymbolStates } from '../state/symbol-state';
import { createDefaultStrategy } from './scanner';
import { createStreamHub } from '../http/stream-hub';
import { createSignalBook, type SignalHandle } from './signals';

const bar = (ts: number, close = 1.1): Bar => ({
  symbol: 'EURUSD',
  timeframe: '1m',
  ts,
  open: close,
  high: close,
  low: close,
  close,
  volume: 0,
  source: 'synthetic',
  final: false,
  quality: 0.9,
});
const features = {
  ema12: 1.2,
  ema26: 1.1,
  rsi14: 60,
  macd_hist: 0.01,
  bb_upper: 1.3,
  bb_lower: 1,
  atr14: 0.01,
};

function setup(publish: boolean) {
  const clock = new ManualClock(1_000_000);
  const states = createSymbolStates({
    symbols: ['EURUSD', 'XAUUSD'],
    toBroker: (s) => s,
    staleAfterMs: 10_000,
  });
  const book = createSignalBook({
    strategy: createDefaultStrategy(),
    clock,
    metrics: createMetricsFromConfig(clock, undefined, false),
    symbols: ['EURUSD', 'XAUUSD'],
    staleAfterMs: 10_000,
    publish,
  });
  return { clock, states, book };
}

describe('the signal book', () => {
  it('evaluates, stores, announces and queues a signal for the shared cache', () => {
    const { clock, states, book } = setup(true);
    const seen: unknown[] = [];
    const off = book.onSignal((s) => seen.push(s.symbol));
    const stored = book.evaluate(states.get('EURUSD'), bar(60_000), features, clock.now());
    expect(stored).toMatchObject({
      symbol: 'EURUSD',
      price: 1.1,
      dataTs: 60_000,
      quality: 0.9,
      indicators: features,
    });
    expect(['long', 'short', 'flat']).toContain(stored.direction);
    expect(seen).toEqual(['EURUSD']);
    expect(book.drain()).toEqual([stored]);
    expect(book.drain()).toEqual([]);
    off();
    book.evaluate(states.get('EURUSD'), bar(120_000), features, clock.now());
    expect(seen).toHaveLength(1);
  });

  it('does not queue when there is no shared cache', () => {
    const { clock, states, book } = setup(false);
    book.evaluate(states.get('EURUSD'), bar(60_000), features, clock.now());
    expect(book.drain()).toEqual([]);
  });

  it('ages signals, re-dates them on the same data, and lists them in configuration order', () => {
    const { clock, states, book } = setup(false);
    expect(book.get('EURUSD')).toBeNull();
    book.evaluate(states.get('XAUUSD'), { ...bar(60_000), symbol: 'XAUUSD' }, features, clock.now());
    book.evaluate(states.get('EURUSD'), bar(60_000), features, clock.now());
    clock.advance(11_000);
    expect(book.get('EURUSD')).toMatchObject({ ageMs: 11_000, stale: true });
    book.redate('EURUSD', clock.now());
    expect(book.get('EURUSD')).toMatchObject({ ageMs: 0, stale: false });
    expect(book.all().map((s) => s.symbol)).toEqual(['EURUSD', 'XAUUSD']);
  });

  it('builds reason strings only when a signal is read, the same ones evaluate gives', () => {
    const { clock, states } = setup(false);
    const inner = createDefaultStrategy();
    let explained = 0;
    const strategy = {
      ...inner,
      name: inner.name,
      evaluate: inner.evaluate.bind(inner),
      decide: inner.decide!.bind(inner),
      explain: (input: Parameters<typeof inner.evaluate>[0]) => (explained++, inner.explain!(input)),
    };
    const book = createSignalBook({
      strategy,
      clock,
      metrics: createMetricsFromConfig(clock, undefined, false),
      symbols: ['EURUSD', 'XAUUSD'],
      staleAfterMs: 10_000,
      publish: true,
    });
    for (let i = 1; i <= 3; i++) book.evaluate(states.get('EURUSD'), bar(i * 60_000), features, clock.now());
    const read = book.get('EURUSD');
    const copy = { ...book.drain()[2] };
    expect(explained).toBe(0);
    const expected = inner.evaluate({ symbol: 'EURUSD', bar: bar(180_000), features }).reasons;
    expect(expected.length).toBeGreaterThan(1);
    expect(Array.isArray(read?.reasons)).toBe(true);
    expect(read?.reasons).toEqual(expected);
    expect(explained).toBe(1);
    expect(JSON.parse(JSON.stringify(copy)).reasons).toEqual(expected);
    expect([...(book.get('EURUSD')?.reasons ?? [])]).toEqual(expected);
    expect(explained).toBe(1);
  });
  it('hands each new signal out as a handle that keeps its values once the book has moved on', () => {
    const { clock, states, book } = setup(false);
    const handles: { symbol: string; read(): { price: number; dataAt: number; dataTs: number } }[] = [];
    const off = book.onSignalHandle((symbol, handle) => handles.push({ symbol, read: () => handle.read() }));
    const state = states.get('EURUSD');
    book.record(state, bar(60_000, 1.1), features, 1_000);
    book.redate('EURUSD', 2_000);
    book.record(state, bar(120_000, 1.2), features, 3_000);
    clock.advance(500);
    expect(handles.map((h) => h.symbol)).toEqual(['EURUSD', 'EURUSD']);
    expect(handles[0]?.read()).toMatchObject({ price: 1.1, dataTs: 60_000, dataAt: 1_000 });
    expect(handles[1]?.read()).toMatchObject({ price: 1.2, dataTs: 120_000, dataAt: 3_000 });
    expect(book.get('EURUSD')).toMatchObject({ price: 1.2, dataAt: 3_000, ageMs: clock.now() - 3_000 });
    // The same object on every read of one handle, and the book's own as long as it is current.
    expect(handles[1]?.read()).toBe(handles[1]?.read());
    off();
    book.record(state, bar(180_000, 1.3), features, 4_000);
    expect(handles).toHaveLength(2);
  });

  it('keeps nothing for a released handle: the signal object is made only when read', () => {
    const { states, book } = setup(false);
    const released: boolean[] = [];
    book.onSignalHandle((_symbol, handle) => {
      handle.release();
      released.push(true);
      expect(() => handle.read()).toThrow(/released/);
    });
    book.record(states.get('EURUSD'), bar(60_000), features, 1_000);
    book.record(states.get('EURUSD'), bar(120_000), features, 2_000);
    expect(released).toEqual([true, true]);
    expect(book.get('EURUSD')).toMatchObject({ dataTs: 120_000, dataAt: 2_000 });
    expect(book.all().map((s) => s.symbol)).toEqual(['EURUSD']);
  });

  it('hands a released handle out again for a later signal: a replay after the reuse reads the newer one', () => {
    const { clock, states, book } = setup(false);
    // The stream feed's use: a ring of one signal event, each handle released when overwritten.
    const hub = createStreamHub({ now: () => clock.now(), ringSize: 1 });
    const given: SignalHandle[] = [];
    book.onSignalHandle((symbol, handle) => {
      given.push(handle);
      hub.publishDeferred(
        'signals',
        symbol,
        (h: SignalHandle) => h.read(),
        handle,
        (h) => h.release(),
      );
    });
    const replay = () => hub.replay({ symbols: new Set(), kinds: new Set(['signals']) }, 0).events;
    const eur = states.get('EURUSD');
    const xau = states.get('XAUUSD');
    book.record(eur, bar(60_000, 1.1), features, 1_000);
    book.record(xau, { ...bar(60_000, 2.1), symbol: 'XAUUSD' }, features, 1_000); // releases EURUSD's
    expect(() => given[0]?.read()).toThrow(/released/);
    book.record(eur, bar(120_000, 1.2), features, 2_000); // releases XAUUSD's
    expect(given[2]).toBe(given[0]); // the same object again
    expect(replay().map((e) => e.data)).toEqual([
      expect.objectContaining({ symbol: 'EURUSD', price: 1.2, dataTs: 120_000, dataAt: 2_000 }),
    ]);
    book.record(xau, { ...bar(120_000, 2.2), symbol: 'XAUUSD' }, features, 2_000);
    expect(given[3]).toBe(given[1]);
    // What the replay reads is what the book gives (less the age); the ring then released the handle.
    const aged = book.get('XAUUSD');
    if (!aged) throw new Error('no XAUUSD signal');
    const { ageMs: _a, stale: _s, ...stored } = aged;
    expect(replay().map((e) => e.data)).toEqual([{ ...stored, confidence: stored.rawConfidence }]);
    expect(() => given[3]?.read()).toThrow(/released/);
  });

  it('an earlier handle still out keeps its signal while later ones are handed out, re-dated or not', () => {
    const { clock, states, book } = setup(false);
    const hub = createStreamHub({ now: () => clock.now(), ringSize: 3 });
    book.onSignalHandle(
      (symbol, handle) =>
        void hub.publishDeferred(
          'signals',
          symbol,
          (h: SignalHandle) => h.read(),
          handle,
          (h) => h.release(),
        ),
    );
    const eur = states.get('EURUSD');
    book.record(eur, bar(60_000, 1.1), features, 1_000);
    book.record(eur, bar(120_000, 1.2), features, 2_000);
    book.redate('EURUSD', 2_500);
    book.record(eur, bar(180_000, 1.3), features, 3_000);
    book.redate('EURUSD', 3_500);
    const data = hub.replay({ symbols: new Set(), kinds: new Set(['signals']) }, 0).events.map((e) => e.data);
    expect(data).toEqual([
      expect.objectContaining({ price: 1.1, dataAt: 1_000 }),
      expect.objectContaining({ price: 1.2, dataAt: 2_000 }),
      expect.objectContaining({ price: 1.3, dataAt: 3_000 }),
    ]);
    expect(book.get('EURUSD')).toMatchObject({ price: 1.3, dataAt: 3_500 });
    // Two listeners: each its own handle, each reading the same signal.
    const second: SignalHandle[] = [];
    book.onSignalHandle((_symbol, handle) => second.push(handle));
    book.record(eur, bar(240_000, 1.4), features, 4_000);
    book.record(eur, bar(300_000, 1.5), features, 5_000);
    expect(second.map((h) => h.read().price)).toEqual([1.4, 1.5]);
  });

  it('keeps every symbol apart whatever the order of the records, for configured symbols and adopted ones', () => {
    const clock = new ManualClock(1_000_000);
    const symbols = Array.from({ length: 40 }, (_, i) => `S${i}`);
    const states = createSymbolStates({ symbols, toBroker: (s) => `${s}.b`, staleAfterMs: 10_000 });
    const book = createSignalBook({
      strategy: createDefaultStrategy(),
      clock,
      metrics: createMetricsFromConfig(clock, undefined, false),
      symbols,
      staleAfterMs: 10_000,
      publish: false,
    });
    const orders = [symbols, [...symbols].reverse(), symbols.filter((_, i) => i % 3 === 1)];
    let close = 1;
    const expected = new Map<string, number>();
    for (const order of orders)
      for (const symbol of order) {
        close += 0.01;
        book.record(states.get(symbol), { ...bar(60_000, close), symbol }, features, 1_000);
        expected.set(symbol, close);
      }
    for (const symbol of symbols)
      expect(book.get(symbol)).toMatchObject({ symbol, price: expected.get(symbol) });
    // Signals of symbols this book does not collect (another cluster member's), more than its columns hold.
    const adopted = Array.from({ length: 30 }, (_, i) => `X${i}`);
    const template = book.get('S0');
    if (!template) throw new Error('no signal for S0');
    for (const symbol of adopted) book.adopt({ ...template, symbol, generatedAt: clock.now() });
    for (const symbol of adopted) expect(book.get(symbol)).toMatchObject({ symbol });
    for (const symbol of symbols)
      expect(book.get(symbol)).toMatchObject({ symbol, price: expected.get(symbol) });
    expect(book.all().map((s) => s.symbol)).toEqual(symbols);
  });

  it('gives the same signals with decideInto as with decide alone (stop and target null when absent)', () => {
    const { clock, states } = setup(false);
    const inner = createDefaultStrategy();
    const books = [
      inner,
      { name: inner.name, evaluate: inner.evaluate, decide: inner.decide, explain: inner.explain },
    ].map((strategy) =>
      createSignalBook({
        strategy,
        clock,
        metrics: createMetricsFromConfig(clock, undefined, false),
        symbols: ['EURUSD'],
        staleAfterMs: 10_000,
        publish: false,
      }),
    );
    const cases = [
      features,
      { ...features, atr14: null },
      { ema12: 1.1, ema26: 1.2, rsi14: 40, macd_hist: -0.01, bb_upper: 1.3, bb_lower: 1, atr14: 0.01 },
      { ema12: null, ema26: null },
    ];
    let ts = 60_000;
    for (const f of cases) {
      ts += 60_000;
      const got = books.map((b) => {
        b.record(states.get('EURUSD'), bar(ts), f, 1_000);
        return JSON.stringify(b.get('EURUSD'));
      });
      expect(got[0]).toBe(got[1]);
      const s = books[0]?.get('EURUSD');
      const { reasons, ...decision } = inner.evaluate({ symbol: 'EURUSD', bar: bar(ts), features: f });
      expect(s).toMatchObject({
        ...decision,
        rawConfidence: decision.confidence,
        confidence: expect.any(Number),
      });
      expect(s?.reasons).toEqual(reasons);
    }
  });
});
