// The packed indicators of an IndicatorSet (src/packed.ts) against their classes: the same values bit
// for bit (Object.is) and the same snapshots, under random sequences of new bars and forming-bar
// replaces with non-finite inputs mixed in; snapshots move between the two forms.
import { ATR } from './indicators/atr';
import { BollingerBands } from './indicators/bollinger';
import { EMA } from './indicators/ema';
import { MACD } from './indicators/macd';
import { RSI } from './indicators/rsi';
import { SMA } from './indicators/sma';
import { StdDev } from './indicators/stddev';
import { type FeatureBar, type FeatureSetSpec, IndicatorSet, flattenFeatureValues } from './feature-set';

const SPEC: FeatureSetSpec = {
  e3: { kind: 'ema', options: { period: 3 } },
  s4: { kind: 'sma', options: { period: 4 } },
  r5: { kind: 'rsi', options: { period: 5 } },
  m: { kind: 'macd', options: { fast: 3, slow: 6, signal: 4 } },
  bb: { kind: 'bollinger', options: { period: 5, stdDev: 1.5 } },
  sd: { kind: 'stddev', options: { period: 4, multiplier: 2 } },
  a: { kind: 'atr', options: { period: 3 } },
  // kept as objects: another source, the exact Bollinger mode
  hi: { kind: 'sma', options: { period: 2 }, source: 'high' },
  bx: { kind: 'bollinger', options: { period: 3, mode: 'exact' } },
};

function classes() {
  return {
    e3: new EMA({ period: 3 }),
    s4: new SMA({ period: 4 }),
    r5: new RSI({ period: 5 }),
    m: new MACD({ fast: 3, slow: 6, signal: 4 }),
    bb: new BollingerBands({ period: 5, stdDev: 1.5 }),
    sd: new StdDev({ period: 4, multiplier: 2 }),
    a: new ATR({ period: 3 }),
    hi: new SMA({ period: 2 }),
    bx: new BollingerBands({ period: 3, mode: 'exact' }),
  };
}

function feed(c: ReturnType<typeof classes>, b: FeatureBar, replace: boolean): void {
  for (const k of ['e3', 's4', 'r5', 'm', 'bb', 'sd', 'bx'] as const) c[k].update(b.close, replace);
  c.hi.update(b.high, replace);
  if (replace) c.a.replaceValues(b.high, b.low, b.close);
  else c.a.addValues(b.high, b.low, b.close);
}

/** A deterministic pseudo-random walk with forming-bar replaces, flat stretches and non-finite values. */
function* steps(seed: number, n: number): Generator<[FeatureBar, boolean]> {
  let x = seed;
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  let price = 100;
  let ts = 0;
  for (let i = 0; i < n; i++) {
    const replace = i > 0 && rnd() < 0.6;
    if (!replace) ts += 60_000;
    const r = rnd();
    if (r > 0.15) price += (rnd() - 0.5) * 2;
    const bad = rnd() < 0.03 ? ([NaN, Infinity, -Infinity][Math.floor(rnd() * 3)] ?? NaN) : null;
    const close = bad ?? price;
    yield [{ ts, open: price, high: price + rnd(), low: price - rnd(), close, volume: 1000 }, replace];
  }
}

const same = (a: unknown, b: unknown): void => {
  if (typeof a === 'number' && typeof b === 'number') {
    expect(Object.is(a, b)).toBe(true);
  } else {
    expect(a).toStrictEqual(b);
  }
};

describe('packed indicator state (src/packed.ts)', () => {
  it.each([1, 7, 42, 1234])('equals the classes bit for bit, values and snapshots (seed %i)', (seed) => {
    const set = new IndicatorSet(SPEC);
    const c = classes();
    for (const [b, replace] of steps(seed, 400)) {
      set.update(b, replace);
      feed(c, b, replace);
      const values = set.values();
      for (const [k, ind] of Object.entries(c)) {
        const r = ind.getResult();
        const v = values[k];
        if (r !== null && typeof r === 'object') {
          for (const [f, x] of Object.entries(r)) same((v as Record<string, number>)[f], x);
          expect(Object.keys(v as object)).toEqual(Object.keys(r));
        } else {
          same(v, r);
        }
      }
      const flat = set.flatValues();
      const expected = flattenFeatureValues(values, SPEC);
      for (const k of Object.keys(expected)) same(flat[k], expected[k]);
      expect(set.snapshot()).toStrictEqual(
        Object.fromEntries(Object.entries(c).map(([k, ind]) => [k, ind.snapshot()])),
      );
    }
  });

  it('restores class snapshots and its own, and then goes on as the classes do', () => {
    const c = classes();
    const all = [...steps(3, 300)];
    for (const [b, r] of all.slice(0, 150)) feed(c, b, r);
    const set = new IndicatorSet(SPEC);
    set.restore(Object.fromEntries(Object.entries(c).map(([k, ind]) => [k, ind.snapshot()])));
    const twin = new IndicatorSet(SPEC);
    twin.restore(set.snapshot());
    for (const [b, r] of all.slice(150)) {
      feed(c, b, r);
      set.update(b, r);
      twin.update(b, r);
    }
    const want = Object.fromEntries(Object.entries(c).map(([k, ind]) => [k, ind.snapshot()]));
    expect(set.snapshot()).toStrictEqual(want);
    expect(twin.snapshot()).toStrictEqual(want);
    expect(twin.flatValues()).toStrictEqual(set.flatValues());
  });

  it('refuses a snapshot of other parameters with the class error, and sets share no state', () => {
    const set = new IndicatorSet(SPEC);
    const snap = set.snapshot();
    const other = new EMA({ period: 4 }).snapshot();
    expect(() => set.restore({ ...snap, e3: other })).toThrow(/parameters/);
    const a = new IndicatorSet(SPEC);
    const b = new IndicatorSet(SPEC);
    for (const [bar, r] of steps(9, 50)) a.update(bar, r);
    expect(b.snapshot()).toStrictEqual(new IndicatorSet(SPEC).snapshot());
    expect(b.flatValues().e3).toBeNull();
  });
});
