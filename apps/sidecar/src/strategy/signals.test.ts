import { ManualClock, type Bar } from '@pipeline/core';
import { createMetricsFromConfig } from '../wiring/wiring';
import { createSymbolStates } from '../state/symbol-state';
import { createDefaultStrategy } from './scanner';
import { createSignalBook } from './signals';

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
});
