import fc from 'fast-check';
import { SeriesStates as ReferenceStates } from '../test/reference/series-states';
import { SeriesStates } from './series-states';

// The live store against the model it replaced (one Map in insertion order, re-inserted on every use
// and trimmed from the front beyond maxSeries) and against its own maps and recency list as they were
// before core's SeriesLru took them over (test/reference/series-states.ts).
class ModelStore {
  readonly map = new Map<string, true>();
  constructor(private readonly max: number) {}
  live(symbol: string, timeframe: string): void {
    const key = `${symbol}|${timeframe}`;
    this.map.delete(key);
    this.map.set(key, true);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
  reset(symbol?: string, timeframe?: string): void {
    if (symbol === undefined) this.map.clear();
    else if (timeframe === undefined) {
      for (const key of [...this.map.keys()]) if (key.startsWith(`${symbol}|`)) this.map.delete(key);
    } else this.map.delete(`${symbol}|${timeframe}`);
  }
}

const SYMBOLS = ['A', 'B', 'C', 'D', 'E', 'F'];
const TIMEFRAMES = ['1m', '5m', '1h'];
const op = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.tuple(fc.constant('live'), fc.constantFrom(...SYMBOLS), fc.constantFrom(...TIMEFRAMES)),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constant('resetSymbol'), fc.constantFrom(...SYMBOLS), fc.constant('')),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constant('resetSeries'),
      fc.constantFrom(...SYMBOLS),
      fc.constantFrom(...TIMEFRAMES),
    ),
  },
  { weight: 1, arbitrary: fc.tuple(fc.constant('resetAll'), fc.constant(''), fc.constant('')) },
);

describe('SeriesStates', () => {
  it('holds and evicts exactly the series a Map in recency order would (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 200 }), (max, ops) => {
        const store = new SeriesStates(256, max);
        const reference = new ReferenceStates(256, max);
        const model = new ModelStore(max);
        const seen = new Map<string, unknown>();
        for (const [kind, symbol, timeframe] of ops) {
          if (kind === 'live') {
            const st = store.live(symbol, timeframe);
            const ref = reference.live(symbol, timeframe);
            model.live(symbol, timeframe);
            // A series evicted and used again starts over in both (no history carried across).
            expect([st.ringLen, st.symbol, st.timeframe]).toEqual([ref.ringLen, ref.symbol, ref.timeframe]);
            st.push(1);
            ref.push(1);
            const key = `${symbol}|${timeframe}`;
            // A series kept since its last use is the same state object (its history survives).
            if (seen.has(key)) expect(st === seen.get(key)).toBe(true);
            seen.set(key, st);
          } else if (kind === 'resetSymbol') {
            store.reset(symbol);
            reference.reset(symbol);
            model.reset(symbol);
          } else if (kind === 'resetSeries') {
            store.reset(symbol, timeframe);
            reference.reset(symbol, timeframe);
            model.reset(symbol, timeframe);
          } else {
            store.reset();
            reference.reset();
            model.reset();
          }
          for (const key of [...seen.keys()]) if (!model.map.has(key)) seen.delete(key);
          expect(store.size).toBe(model.map.size);
          expect(reference.size).toBe(model.map.size);
          for (const s of SYMBOLS)
            for (const tf of TIMEFRAMES) {
              const held = model.map.has(`${s}|${tf}`);
              expect(store.get(s, tf) !== undefined).toBe(held);
              expect(reference.get(s, tf) !== undefined).toBe(held);
              // Same history: each kept series has been used as often since it was (re)created.
              expect(store.get(s, tf)?.ringLen).toBe(reference.get(s, tf)?.ringLen);
            }
        }
      }),
      { numRuns: 300 },
    );
  });
});
