import fc from 'fast-check';
import { SequentialMap } from './sequential-map';

/** Calls of Map.prototype.get while `fn` runs (the guesses are meant to spare them). */
function mapGets(fn: () => void): number {
  const spy = jest.spyOn(Map.prototype, 'get');
  try {
    fn();
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

describe('SequentialMap', () => {
  it('answers as a Map: get, peek, has, size, set over a held key, delete, clear, insertion order', () => {
    const m = new SequentialMap<string, number>([
      ['A', 1],
      ['B', 2],
    ]);
    m.set('C', 3);
    expect(m.size).toBe(3);
    expect([m.get('A'), m.get('B'), m.get('C'), m.get('D')]).toEqual([1, 2, 3, undefined]);
    expect([m.peek('B'), m.peek('D'), m.has('C'), m.has('D')]).toEqual([2, undefined, true, false]);
    expect(m.set('B', 20)).toBe(m);
    expect(m.get('B')).toBe(20);
    expect([...m.keys()]).toEqual(['A', 'B', 'C']);
    expect([...m.values()]).toEqual([1, 20, 3]);
    expect([...m]).toEqual([
      ['A', 1],
      ['B', 20],
      ['C', 3],
    ]);
    expect(m.delete('B')).toBe(true);
    expect(m.delete('B')).toBe(false);
    expect([...m.entries()]).toEqual([
      ['A', 1],
      ['C', 3],
    ]);
    m.clear();
    expect(m.size).toBe(0);
    expect([m.get('A'), m.get('C'), [...m]]).toEqual([undefined, undefined, []]);
    m.set('A', 5);
    expect(m.get('A')).toBe(5);
  });

  it('finds keys asked in the order of the pass before without the Map, and any other order through it', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `S${i}`);
    const m = new SequentialMap<string, { symbol: string }>(keys.map((k) => [k, { symbol: k }]));
    // Insertion order links the entries: the first pass in that order needs the Map once (its start,
    // which then follows the last key: the next pass needs it no more).
    expect(mapGets(() => keys.forEach((k) => expect(m.get(k)?.symbol).toBe(k)))).toBe(1);
    // Each key asked twice in a row (a stage that reads after it writes): the second is the last found.
    expect(mapGets(() => keys.forEach((k) => void (m.get(k), m.get(k))))).toBe(0);
    // A new order: the Map on the first pass (but for S999, the last found), learned for the next
    // (whose start follows the previous pass's end through the Map once).
    const reversed = [...keys].reverse();
    expect(mapGets(() => reversed.forEach((k) => expect(m.get(k)?.symbol).toBe(k)))).toBe(999);
    expect(mapGets(() => reversed.forEach((k) => expect(m.get(k)?.symbol).toBe(k)))).toBe(1);
    expect(mapGets(() => reversed.forEach((k) => expect(m.get(k)?.symbol).toBe(k)))).toBe(0);
    // peek, has and iteration neither use nor change the guesses.
    expect([m.peek('S5')?.symbol, m.has('S7'), [...m.values()].length]).toEqual(['S5', true, 1000]);
    expect(mapGets(() => reversed.forEach((k) => m.get(k)))).toBe(0);
  });

  it('learns the order of gets that create what they miss (get, then set)', () => {
    const m = new SequentialMap<string, string>();
    const getOrMake = (k: string) => {
      let v = m.get(k);
      if (v === undefined) m.set(k, (v = k.toLowerCase()));
      return v;
    };
    const order = ['C', 'A', 'B', 'E', 'D'];
    expect(order.map(getOrMake)).toEqual(['c', 'a', 'b', 'e', 'd']);
    expect(mapGets(() => order.forEach((k) => expect(getOrMake(k)).toBe(k.toLowerCase())))).toBe(1);
  });

  it('never returns a deleted or replaced value through a guess', () => {
    const m = new SequentialMap<string, string>();
    for (const k of ['A', 'B', 'C']) m.set(k, `${k}1`);
    for (const k of ['A', 'B', 'C']) m.get(k); // A -> B -> C learned
    m.delete('B');
    expect(m.get('A')).toBe('A1');
    expect(m.get('B')).toBeUndefined(); // A's link leads to B's old slot
    m.set('D', 'D1'); // takes B's old slot: A's link now leads to D's own entry
    expect(m.get('A')).toBe('A1');
    expect(m.get('B')).toBeUndefined();
    expect(m.get('A')).toBe('A1');
    expect(m.get('D')).toBe('D1');
    m.set('B', 'B2'); // a new entry for B, after D
    expect(m.get('A')).toBe('A1');
    expect(m.get('B')).toBe('B2');
    expect(m.get('C')).toBe('C1');
    // The last found deleted, then asked again.
    m.delete('C');
    expect(m.get('C')).toBeUndefined();
    // A held key set again: the links lead to its new value.
    for (const k of ['A', 'B']) m.get(k);
    m.set('B', 'B3');
    expect(m.get('A')).toBe('A1');
    expect(m.get('B')).toBe('B3');
  });

  it('tells keys apart as a Map does (NaN, -0 and 0, objects by identity)', () => {
    const a = { id: 1 };
    const m = new SequentialMap<unknown, string>([
      [NaN, 'nan'],
      [0, 'zero'],
      [a, 'a'],
      [undefined, 'undefined'],
    ]);
    for (let pass = 0; pass < 2; pass++) {
      expect([m.get(NaN), m.get(-0), m.get(0), m.get(a), m.get({ id: 1 }), m.get(undefined)]).toEqual([
        'nan',
        'zero',
        'zero',
        'a',
        undefined,
        'undefined',
      ]);
    }
  });

  it('gives the results of a plain Map for any sequence of set, get, peek, has and delete', () => {
    type Op =
      | { op: 'set'; key: number; value: number }
      | { op: 'get' | 'peek' | 'has' | 'delete'; key: number }
      | { op: 'clear' };
    const key = fc.integer({ min: 0, max: 11 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 30, arbitrary: fc.record({ op: fc.constant('set' as const), key, value: fc.integer() }) },
      { weight: 60, arbitrary: fc.record({ op: fc.constant('get' as const), key }) },
      { weight: 10, arbitrary: fc.record({ op: fc.constantFrom('peek' as const, 'has' as const), key }) },
      { weight: 20, arbitrary: fc.record({ op: fc.constant('delete' as const), key }) },
      { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
    );
    /** Every answer of the map under test, beside the same answers of a plain Map. */
    const run = (ops: readonly Op[]) => {
      const m = new SequentialMap<number, number>();
      const ref = new Map<number, number>();
      const got: unknown[] = [];
      const want: unknown[] = [];
      for (const o of ops) {
        switch (o.op) {
          case 'set':
            m.set(o.key, o.value);
            ref.set(o.key, o.value);
            break;
          case 'get':
            got.push(m.get(o.key));
            want.push(ref.get(o.key));
            break;
          case 'peek':
            got.push(m.peek(o.key));
            want.push(ref.get(o.key));
            break;
          case 'has':
            got.push(m.has(o.key));
            want.push(ref.has(o.key));
            break;
          case 'delete':
            got.push(m.delete(o.key));
            want.push(ref.delete(o.key));
            break;
          case 'clear':
            m.clear();
            ref.clear();
            break;
        }
        got.push(m.size);
        want.push(ref.size);
      }
      got.push([...m]);
      want.push([...ref]);
      expect(got).toEqual(want);
    };
    // Random sequences.
    fc.assert(fc.property(fc.array(op, { maxLength: 200 }), run), { numRuns: 1000 });
    // Repeated orders (what the guesses are for): a pass of gets in one order, repeated, with sets,
    // deletes and re-adds mixed in between and inside the passes.
    fc.assert(
      fc.property(
        fc.uniqueArray(key, { minLength: 1 }),
        fc.array(fc.tuple(fc.nat(), op), { maxLength: 30 }),
        fc.integer({ min: 2, max: 6 }),
        (order, extra, passes) => {
          const ops: Op[] = order.map((k) => ({ op: 'set', key: k, value: k }));
          const pass: Op[] = order.flatMap((k) => [
            { op: 'get', key: k },
            { op: 'get', key: k },
          ]);
          for (let p = 0; p < passes; p++) {
            const mixed = [...pass];
            for (const [at, o] of extra) if (at % passes === p) mixed.splice(at % (mixed.length + 1), 0, o);
            ops.push(...mixed);
          }
          run(ops);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
