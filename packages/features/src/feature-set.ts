import { OptionsError } from '@pipeline/core';
import { ADX, type ADXOptions } from './indicators/adx';
import { ATR, type ATROptions } from './indicators/atr';
import { type IndicatorSnapshot } from './indicators/base';
import { BollingerBands, type BollingerBandsOptions } from './indicators/bollinger';
import { EMA, type EMAOptions } from './indicators/ema';
import { MACD, type MACDOptions } from './indicators/macd';
import { OBV } from './indicators/obv';
import { RSI, type RSIOptions } from './indicators/rsi';
import { SMA, type SMAOptions } from './indicators/sma';
import { StdDev, type StdDevOptions } from './indicators/stddev';
import { Stochastic, type StochasticOptions } from './indicators/stochastic';
import { VWAP, type VWAPOptions } from './indicators/vwap';
import {
  PACKED_ATR,
  PACKED_BB,
  PACKED_EMA,
  PACKED_MACD,
  PACKED_RSI,
  PACKED_SCALARS,
  PACKED_SD,
  PACKED_SMA,
  PackedStep,
  packedBollinger,
  packedLoad,
  packedMacd,
  packedSnapshot,
  packedStable,
  packedUpdate,
  packedValue,
} from './packed';

/** Indicator kinds a feature set can declare. */
export const INDICATOR_KINDS = {
  sma: 'sma',
  ema: 'ema',
  rsi: 'rsi',
  macd: 'macd',
  bollinger: 'bollinger',
  stddev: 'stddev',
  atr: 'atr',
  adx: 'adx',
  stochastic: 'stochastic',
  obv: 'obv',
  vwap: 'vwap',
} as const;
export type IndicatorKind = (typeof INDICATOR_KINDS)[keyof typeof INDICATOR_KINDS];

/** Which price a single-input indicator reads from the bar. */
export const PRICE_SOURCES = {
  close: 'close',
  open: 'open',
  high: 'high',
  low: 'low',
  /** (high + low) / 2 */
  hl2: 'hl2',
  /** (high + low + close) / 3 */
  hlc3: 'hlc3',
} as const;
export type PriceSource = (typeof PRICE_SOURCES)[keyof typeof PRICE_SOURCES];

/** One declared indicator; `source` applies to single-input kinds (default `close`). */
export type IndicatorSpec =
  | { kind: 'sma'; options?: Partial<SMAOptions>; source?: PriceSource }
  | { kind: 'ema'; options?: Partial<EMAOptions>; source?: PriceSource }
  | { kind: 'rsi'; options?: Partial<RSIOptions>; source?: PriceSource }
  | { kind: 'macd'; options?: Partial<MACDOptions>; source?: PriceSource }
  | { kind: 'bollinger'; options?: Partial<BollingerBandsOptions>; source?: PriceSource }
  | { kind: 'stddev'; options?: Partial<StdDevOptions>; source?: PriceSource }
  | { kind: 'atr'; options?: Partial<ATROptions> }
  | { kind: 'adx'; options?: Partial<ADXOptions> }
  | { kind: 'stochastic'; options?: Partial<StochasticOptions> }
  | { kind: 'obv'; options?: Record<string, never> }
  | { kind: 'vwap'; options?: Partial<VWAPOptions> };

/** A declarative feature set: output name -> indicator. */
export type FeatureSetSpec = Readonly<Record<string, IndicatorSpec>>;

/**
 * The default set of the {@link FeatureEngine} (`createFeatureEngine()` without `features`), under the
 * package's one naming (README, "Feature keys"): a single-output indicator is named after its kind and
 * period (`ema12`, `rsi14`), a multi-output one after its kind (`macd`, `bb`, `stoch`, `adx`); its
 * outputs become `<name>` / `<name>_<suffix>` keys when flattened ({@link flattenFeatureValues}). EMA
 * 12/26 are the MACD's own periods, so their crossover is the MACD line's zero crossing.
 */
export const DEFAULT_FEATURE_SET: FeatureSetSpec = Object.freeze({
  ema12: { kind: 'ema', options: { period: 12 } },
  ema26: { kind: 'ema', options: { period: 26 } },
  sma20: { kind: 'sma', options: { period: 20 } },
  rsi14: { kind: 'rsi', options: { period: 14 } },
  macd: { kind: 'macd', options: { fast: 12, slow: 26, signal: 9 } },
  bb: { kind: 'bollinger', options: { period: 20, stdDev: 2 } },
  stddev20: { kind: 'stddev', options: { period: 20 } },
  atr14: { kind: 'atr', options: { period: 14 } },
  stoch: { kind: 'stochastic', options: { kPeriod: 14, kSlowing: 3, dPeriod: 3 } },
  adx: { kind: 'adx', options: { period: 14 } },
  obv: { kind: 'obv' },
  vwap: { kind: 'vwap', options: { sessionStart: '00:00', timeZone: 'UTC' } },
} satisfies Record<string, IndicatorSpec>);

/**
 * How a multi-output indicator's outputs are named when flattened: output field -> key suffix
 * appended to the feature name ('' for the main line, which keeps the bare name). Single-output
 * kinds keep the feature name as it is.
 */
export const FEATURE_OUTPUT_SUFFIXES = Object.freeze({
  macd: Object.freeze({ macd: '', signal: '_signal', histogram: '_hist' }),
  bollinger: Object.freeze({ upper: '_upper', middle: '_middle', lower: '_lower' }),
  stochastic: Object.freeze({ k: '_k', d: '_d' }),
  adx: Object.freeze({ adx: '', plusDI: '_plus_di', minusDI: '_minus_di' }),
} as const);

/** Flat feature values: one number (or null while not stable) per feature key. */
export type FlatFeatureValues = Record<string, number | null>;

/** The flat keys of a feature set, in spec order (`macd`, `macd_signal`, `macd_hist`, ...). */
export function featureKeys(spec: FeatureSetSpec = DEFAULT_FEATURE_SET): string[] {
  const keys: string[] = [];
  for (const [name, s] of Object.entries(spec)) {
    const suffixes = (FEATURE_OUTPUT_SUFFIXES as Record<string, Record<string, string>>)[s.kind];
    if (suffixes === undefined) keys.push(name);
    else for (const suffix of Object.values(suffixes)) keys.push(name + suffix);
  }
  return keys;
}

/**
 * Flattens the values of an {@link IndicatorSet} (`set.values()`) or of one timeframe of a
 * {@link FeatureSet} (`features.timeframes['5m'].values`) to the documented feature keys: numbers stay
 * under their name, `macd: {macd, signal, histogram}` becomes `macd`, `macd_signal`, `macd_hist`, and so
 * on ({@link FEATURE_OUTPUT_SUFFIXES}). Every key of {@link featureKeys}`(spec)` is present; a value
 * that is not stable yet (or missing) is null. `spec` must be the set the values came from.
 */
export function flattenFeatureValues(
  values: Readonly<Record<string, FeatureValue | undefined>>,
  spec: FeatureSetSpec = DEFAULT_FEATURE_SET,
): FlatFeatureValues {
  const out: FlatFeatureValues = {};
  for (const [name, s] of Object.entries(spec)) {
    const v = values[name];
    const suffixes = (FEATURE_OUTPUT_SUFFIXES as Record<string, Record<string, string>>)[s.kind];
    if (suffixes === undefined) {
      out[name] = typeof v === 'number' ? v : null;
      continue;
    }
    for (const [field, suffix] of Object.entries(suffixes)) {
      const x = v !== null && typeof v === 'object' ? v[field] : undefined;
      out[name + suffix] = typeof x === 'number' ? x : null;
    }
  }
  return out;
}

/** What a feature set reads from a bar; a core `Bar` satisfies it. */
export interface FeatureBar {
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** A value in a {@link FeatureValues} object: a number, a flat object of numbers, or null during warm-up. */
export type FeatureValue = number | Readonly<Record<string, number>> | null;
/** Feature name -> value; plain JSON. */
export type FeatureValues = Record<string, FeatureValue>;

interface Entry {
  name: string;
  ind: {
    getResult(): unknown;
    snapshot(): IndicatorSnapshot;
    restore(s: IndicatorSnapshot): void;
    readonly lookback: number;
  };
  update: (bar: FeatureBar, replace: boolean) => void;
}

const readClose = (b: FeatureBar): number => b.close;

function priceReader(source: PriceSource | undefined, name: string): (b: FeatureBar) => number {
  switch (source ?? 'close') {
    case 'close':
      return readClose;
    case 'open':
      return (b) => b.open;
    case 'high':
      return (b) => b.high;
    case 'low':
      return (b) => b.low;
    case 'hl2':
      return (b) => (b.high + b.low) / 2;
    case 'hlc3':
      return (b) => (b.high + b.low + b.close) / 3;
    default:
      throw new OptionsError(
        `feature "${name}": source must be one of ${Object.keys(PRICE_SOURCES).join(', ')}, got ${JSON.stringify(source)}`,
      );
  }
}

function compile(name: string, spec: IndicatorSpec): Entry {
  if (typeof spec !== 'object' || spec === null) {
    throw new OptionsError(`feature "${name}": spec must be an object, got ${JSON.stringify(spec)}`);
  }
  switch (spec.kind) {
    // One arrow literal per kind (and a close-price fast path) keeps every call site monomorphic.
    case 'sma': {
      const ind = new SMA(spec.options);
      const read = priceReader(spec.source, name);
      if (read === readClose)
        return { name, ind, update: (b, r) => (r ? ind.replace(b.close) : ind.add(b.close)) };
      return { name, ind, update: (b, r) => (r ? ind.replace(read(b)) : ind.add(read(b))) };
    }
    case 'ema': {
      const ind = new EMA(spec.options);
      const read = priceReader(spec.source, name);
      if (read === readClose)
        return { name, ind, update: (b, r) => (r ? ind.replace(b.close) : ind.add(b.close)) };
      return { name, ind, update: (b, r) => (r ? ind.replace(read(b)) : ind.add(read(b))) };
    }
    case 'rsi': {
      const ind = new RSI(spec.options);
      const read = priceReader(spec.source, name);
      if (read === readClose)
        return { name, ind, update: (b, r) => (r ? ind.replace(b.close) : ind.add(b.close)) };
      return { name, ind, update: (b, r) => (r ? ind.replace(read(b)) : ind.add(read(b))) };
    }
    case 'macd': {
      const ind = new MACD(spec.options);
      const read = priceReader(spec.source, name);
      if (read === readClose)
        return { name, ind, update: (b, r) => (r ? ind.replace(b.close) : ind.add(b.close)) };
      return { name, ind, update: (b, r) => (r ? ind.replace(read(b)) : ind.add(read(b))) };
    }
    case 'bollinger': {
      const ind = new BollingerBands(spec.options);
      const read = priceReader(spec.source, name);
      if (read === readClose)
        return { name, ind, update: (b, r) => (r ? ind.replace(b.close) : ind.add(b.close)) };
      return { name, ind, update: (b, r) => (r ? ind.replace(read(b)) : ind.add(read(b))) };
    }
    case 'stddev': {
      const ind = new StdDev(spec.options);
      const read = priceReader(spec.source, name);
      if (read === readClose)
        return { name, ind, update: (b, r) => (r ? ind.replace(b.close) : ind.add(b.close)) };
      return { name, ind, update: (b, r) => (r ? ind.replace(read(b)) : ind.add(read(b))) };
    }
    case 'atr': {
      const ind = new ATR(spec.options);
      return {
        name,
        ind,
        update: (b, r) =>
          r ? ind.replaceValues(b.high, b.low, b.close) : ind.addValues(b.high, b.low, b.close),
      };
    }
    case 'adx': {
      const ind = new ADX(spec.options);
      return {
        name,
        ind,
        update: (b, r) =>
          r ? ind.replaceValues(b.high, b.low, b.close) : ind.addValues(b.high, b.low, b.close),
      };
    }
    case 'stochastic': {
      const ind = new Stochastic(spec.options);
      return {
        name,
        ind,
        update: (b, r) =>
          r ? ind.replaceValues(b.high, b.low, b.close) : ind.addValues(b.high, b.low, b.close),
      };
    }
    case 'obv': {
      const ind = new OBV(spec.options);
      return {
        name,
        ind,
        update: (b, r) => (r ? ind.replaceValues(b.close, b.volume) : ind.addValues(b.close, b.volume)),
      };
    }
    case 'vwap': {
      const ind = new VWAP(spec.options);
      return {
        name,
        ind,
        update: (b, r) =>
          r
            ? ind.replaceValues(b.ts, b.high, b.low, b.close, b.volume)
            : ind.addValues(b.ts, b.high, b.low, b.close, b.volume),
      };
    }
    default:
      throw new OptionsError(
        `feature "${name}": kind must be one of ${Object.keys(INDICATOR_KINDS).join(', ')}, got ${JSON.stringify((spec as { kind: unknown }).kind)}`,
      );
  }
}

/** Builds one flat record of a set: {@link IndicatorSet.flatValuesInto} run on the new object. */
type FlatRecordConstructor = new (set: IndicatorSet) => FlatFeatureValues;

/** One record constructor per spec object, so every set compiled from it shares the records' hidden class. */
const flatRecordConstructors = new WeakMap<FeatureSetSpec, FlatRecordConstructor>();

/**
 * The flat-record constructor of `spec`. A record made by `new` gets its properties in the object
 * itself (V8 sizes a constructor's objects by the properties it saw them get), where one grown from
 * `{}` keeps 4 there and moves the rest to a separate array, reallocated as it grows. Its prototype is
 * `Object.prototype`, so the record is a plain object like one from `{}`. Every key is first added as
 * null and then written: a number added as a new property takes a second box (V8 copies it in case
 * the field becomes an unboxed double), a number written over null keeps the one it has. Update +
 * record of the sidecar's 10 keys: 528 -> 344 bytes (bench/hot-path.ts).
 */
function flatRecordConstructor(spec: FeatureSetSpec): FlatRecordConstructor {
  let C = flatRecordConstructors.get(spec);
  if (C === undefined) {
    const keys = featureKeys(spec);
    const n = keys.length;
    const k = (i: number): string => keys[i] as string; // i < n
    const fn = function (this: FlatFeatureValues, set: IndicatorSet): void {
      // Eight stores per step, written out: V8 sizes a constructor's objects by the `this[...] =`
      // statements in its body (9 here) plus 8, so up to 17 keys live in the object itself (one store
      // in a loop gave 9: the sidecar's 10th key went to a 3-slot property array, 40 B per record).
      let i = 0;
      for (; i + 8 <= n; i += 8) {
        this[k(i)] = null;
        this[k(i + 1)] = null;
        this[k(i + 2)] = null;
        this[k(i + 3)] = null;
        this[k(i + 4)] = null;
        this[k(i + 5)] = null;
        this[k(i + 6)] = null;
        this[k(i + 7)] = null;
      }
      for (; i < n; i++) this[k(i)] = null;
      set.flatValuesInto(this);
    };
    fn.prototype = Object.prototype;
    C = fn as unknown as FlatRecordConstructor;
    flatRecordConstructors.set(spec, C);
  }
  return C;
}

/** Indicator snapshots of a whole set, by feature name. */
export type IndicatorSetSnapshot = Record<string, IndicatorSnapshot>;

/**
 * One feature of a set's plan, in spec order (a class, so every slot has one hidden class): either a
 * packed indicator (`step`, state in the set's array) or one kept as an object (`entries[obj]`).
 */
class Slot {
  constructor(
    readonly name: string,
    readonly step: PackedStep | null,
    readonly obj: number,
    /** A packed indicator's snapshot kind and parameters, and a maker of its class (to check a snapshot). */
    readonly kind: string,
    readonly params: Record<string, number | string>,
    readonly make: (() => Entry['ind']) | null,
    /** The key of a single-output indicator. */
    readonly key: string,
    /** A multi-output indicator's result fields, and the key each is written under (same length). */
    readonly fields: readonly string[] | null,
    readonly keys: readonly string[] | null,
  ) {}
}

/** What every set compiled from one spec object shares: its slots, the packed layout and its initial state. */
class SetPlan {
  constructor(
    readonly slots: readonly Slot[],
    readonly steps: readonly PackedStep[],
    readonly template: Float64Array,
    readonly lookback: number,
    readonly names: readonly string[],
    /** The features kept as objects, compiled anew for every set. */
    readonly objects: readonly (readonly [name: string, spec: IndicatorSpec])[],
  ) {}
}

const setPlans = new WeakMap<FeatureSetSpec, SetPlan>();

const isCloseOnly = (s: IndicatorSpec): boolean =>
  !('source' in s) || s.source === undefined || s.source === 'close';

/** The packed form of a compiled indicator at offset `o`, or null when it has none. */
function packedStep(ind: Entry['ind'], closeOnly: boolean, o: number): PackedStep | null {
  const step = (
    kind: number,
    size: number,
    p: number,
    lb: number,
    k = 0,
    extra: { k2?: number; k3?: number; n1?: number; fast?: number; sigP?: number; fastStart?: number } = {},
    len = 0,
  ): PackedStep =>
    new PackedStep(
      kind,
      o,
      size,
      p,
      lb,
      k,
      extra.k2 ?? 0,
      extra.k3 ?? 0,
      extra.n1 ?? 0,
      extra.fast ?? 0,
      extra.sigP ?? 0,
      extra.fastStart ?? 0,
      len > 0 ? size - len : 0,
      len,
    );
  // The constants are computed by the classes' own expressions, so they are the same doubles.
  if (ind instanceof ATR) return step(PACKED_ATR, 8, ind.period, ind.lookback, 0, { n1: ind.period - 1 });
  if (!closeOnly) return null;
  if (ind instanceof EMA) return step(PACKED_EMA, 6, ind.period, ind.lookback, 2 / (ind.period + 1));
  if (ind instanceof SMA)
    return step(PACKED_SMA, 8 + ind.period, ind.period, ind.lookback, 0, {}, ind.period);
  if (ind instanceof RSI) return step(PACKED_RSI, 10, ind.period, ind.lookback, 0, { n1: ind.period - 1 });
  if (ind instanceof MACD) {
    return step(PACKED_MACD, 14, ind.slow, ind.lookback, 2 / (ind.fast + 1), {
      k2: 2 / (ind.slow + 1),
      k3: 2 / (ind.signal + 1),
      fast: ind.fast,
      sigP: ind.signal,
      fastStart: ind.slow - ind.fast,
    });
  }
  if (ind instanceof BollingerBands && ind.mode === 'talib') {
    return step(PACKED_BB, 12 + ind.period, ind.period, ind.lookback, ind.stdDev, {}, ind.period);
  }
  if (ind instanceof StdDev) {
    return step(PACKED_SD, 10 + ind.period, ind.period, ind.lookback, ind.multiplier, {}, ind.period);
  }
  return null;
}

/** Whether a class snapshot has exactly the packed layout of `t` (guards the packed functions' offsets). */
function matchesLayout(snap: IndicatorSnapshot, t: PackedStep): boolean {
  const want = ['count', 'rejected', ...(PACKED_SCALARS[t.kind] ?? [])];
  const have = Object.keys(snap.scalars);
  const bufs = Object.keys(snap.buffers);
  return (
    have.length === want.length &&
    have.every((k, i) => k === want[i]) &&
    (t.len === 0 ? bufs.length === 0 : bufs.length === 1 && snap.buffers.buf?.length === t.len)
  );
}

function setPlan(spec: FeatureSetSpec): SetPlan {
  const cached = setPlans.get(spec);
  if (cached !== undefined) return cached;
  const suffixes = FEATURE_OUTPUT_SUFFIXES as Readonly<Record<string, Readonly<Record<string, string>>>>;
  const slots: Slot[] = [];
  const steps: PackedStep[] = [];
  const snaps: IndicatorSnapshot[] = [];
  const objects: [string, IndicatorSpec][] = [];
  const names: string[] = [];
  let lookback = 0;
  let size = 0;
  for (const [name, s] of Object.entries(spec)) {
    const e = compile(name, s); // validates the spec, and is the packed indicator's initial state
    names.push(name);
    lookback = Math.max(lookback, e.ind.lookback);
    const outputs = suffixes[s.kind];
    const fields = outputs ? Object.keys(outputs) : null;
    const keys = outputs ? Object.values(outputs).map((sfx) => name + sfx) : null;
    const t = packedStep(e.ind, isCloseOnly(s), size);
    const snap = t === null ? null : e.ind.snapshot();
    if (t !== null && snap !== null && matchesLayout(snap, t)) {
      size += t.size;
      steps.push(t);
      snaps.push(snap);
      slots.push(
        new Slot(name, t, -1, snap.kind, snap.params, () => compile(name, s).ind, name, fields, keys),
      );
    } else {
      slots.push(new Slot(name, null, objects.length, '', {}, null, name, fields, keys));
      objects.push([name, s]);
    }
  }
  const template = new Float64Array(size);
  steps.forEach((t, i) => packedLoad(template, t, snaps[i] as IndicatorSnapshot)); // i < snaps.length
  const plan = new SetPlan(slots, steps, template, lookback, names, objects);
  setPlans.set(spec, plan);
  return plan;
}

/**
 * The indicators of a set kept as objects (kinds without a packed form, or reading another price
 * than the close), grouped by class so that each update loop calls one class only (monomorphic,
 * inlinable); dispatching through one closure per entry costs about twice as much.
 */
class ObjectGroup {
  private readonly sma: SMA[] = [];
  private readonly ema: EMA[] = [];
  private readonly rsi: RSI[] = [];
  private readonly macd: MACD[] = [];
  private readonly bb: BollingerBands[] = [];
  private readonly sd: StdDev[] = [];
  private readonly atr: ATR[] = [];
  private readonly adx: ADX[] = [];
  private readonly stoch: Stochastic[] = [];
  private readonly obv: OBV[] = [];
  private readonly vwap: VWAP[] = [];
  /** Entries that read another price than the close. */
  private readonly other: Entry[] = [];

  add(e: Entry, closeOnly: boolean): void {
    const ind = e.ind;
    if (ind instanceof SMA && closeOnly) this.sma.push(ind);
    else if (ind instanceof EMA && closeOnly) this.ema.push(ind);
    else if (ind instanceof RSI && closeOnly) this.rsi.push(ind);
    else if (ind instanceof MACD && closeOnly) this.macd.push(ind);
    else if (ind instanceof BollingerBands && closeOnly) this.bb.push(ind);
    else if (ind instanceof StdDev && closeOnly) this.sd.push(ind);
    else if (ind instanceof ATR) this.atr.push(ind);
    else if (ind instanceof ADX) this.adx.push(ind);
    else if (ind instanceof Stochastic) this.stoch.push(ind);
    else if (ind instanceof OBV) this.obv.push(ind);
    else if (ind instanceof VWAP) this.vwap.push(ind);
    else this.other.push(e);
  }

  update(bar: FeatureBar, replace: boolean): void {
    const { ts, high, low, close, volume } = bar;
    if (replace) {
      for (const x of this.sma) x.replace(close);
      for (const x of this.ema) x.replace(close);
      for (const x of this.rsi) x.replace(close);
      for (const x of this.macd) x.replace(close);
      for (const x of this.bb) x.replace(close);
      for (const x of this.sd) x.replace(close);
      for (const x of this.atr) x.replaceValues(high, low, close);
      for (const x of this.adx) x.replaceValues(high, low, close);
      for (const x of this.stoch) x.replaceValues(high, low, close);
      for (const x of this.obv) x.replaceValues(close, volume);
      for (const x of this.vwap) x.replaceValues(ts, high, low, close, volume);
    } else {
      for (const x of this.sma) x.add(close);
      for (const x of this.ema) x.add(close);
      for (const x of this.rsi) x.add(close);
      for (const x of this.macd) x.add(close);
      for (const x of this.bb) x.add(close);
      for (const x of this.sd) x.add(close);
      for (const x of this.atr) x.addValues(high, low, close);
      for (const x of this.adx) x.addValues(high, low, close);
      for (const x of this.stoch) x.addValues(high, low, close);
      for (const x of this.obv) x.addValues(close, volume);
      for (const x of this.vwap) x.addValues(ts, high, low, close, volume);
    }
    const other = this.other;
    for (const ind of other) ind.update(bar, replace);
  }
}

/**
 * A compiled feature set: every indicator of a {@link FeatureSetSpec}, updated together from one bar.
 * `update(bar, true)` replaces the forming bar in every indicator.
 *
 * The O(1) close-price indicators (EMA, SMA, RSI, MACD, Bollinger in `talib` mode, StdDev) and ATR
 * keep their state in one Float64Array per set (src/packed.ts: the same operations as their classes,
 * bit for bit); the others are objects of their class. Snapshots are the classes' own.
 */
export class IndicatorSet {
  /** Largest lookback of the set: the bars needed before every value is non-null. */
  readonly lookback: number;
  readonly names: readonly string[];
  /** The spec this set was compiled from. */
  readonly spec: FeatureSetSpec;
  private readonly plan: SetPlan;
  /** The packed indicators' state (layout: `plan.steps`). */
  private readonly st: Float64Array;
  private readonly steps: readonly PackedStep[];
  /** The indicators kept as objects, in spec order (`Slot.obj` indexes this). */
  private readonly entries: Entry[] = [];
  private readonly objects: ObjectGroup | null;
  /** Makes the records of {@link flatValues} (shared by every set compiled from the same spec object). */
  private readonly FlatRecord: FlatRecordConstructor;

  constructor(spec: FeatureSetSpec = DEFAULT_FEATURE_SET) {
    if (typeof spec !== 'object' || spec === null)
      throw new OptionsError(`IndicatorSet: spec must be an object, got ${String(spec)}`);
    const plan = setPlan(spec);
    this.plan = plan;
    this.spec = spec;
    this.names = plan.names;
    this.lookback = plan.lookback;
    this.st = plan.template.slice();
    this.steps = plan.steps;
    let group: ObjectGroup | null = null;
    for (const [name, s] of plan.objects) {
      const e = compile(name, s);
      this.entries.push(e);
      group ??= new ObjectGroup();
      group.add(e, isCloseOnly(s));
    }
    this.objects = group;
    this.FlatRecord = flatRecordConstructor(spec);
  }

  update(bar: FeatureBar, replace: boolean): void {
    packedUpdate(this.st, this.steps, bar, replace);
    const g = this.objects;
    if (g !== null) g.update(bar, replace);
  }

  private entry(slot: Slot): Entry {
    return this.entries[slot.obj] as Entry; // a slot without a step indexes entries
  }

  values(): FeatureValues {
    const out: FeatureValues = {};
    const s = this.st;
    for (const slot of this.plan.slots) {
      const t = slot.step;
      if (t === null) {
        const r = this.entry(slot).ind.getResult();
        out[slot.name] = r === null || typeof r === 'number' ? r : { ...(r as Record<string, number>) };
      } else if (!packedStable(s, t)) {
        out[slot.name] = null;
      } else if (t.kind === PACKED_MACD) {
        const r = { macd: NaN, signal: NaN, histogram: NaN };
        packedMacd(s, t, r);
        out[slot.name] = r;
      } else if (t.kind === PACKED_BB) {
        const r = { upper: NaN, middle: NaN, lower: NaN };
        packedBollinger(s, t, r);
        out[slot.name] = r;
      } else {
        out[slot.name] = packedValue(s, t);
      }
    }
    return out;
  }

  /**
   * The values under the documented flat feature keys (`ema12`, `macd_hist`, ...), equal to
   * `flattenFeatureValues(this.values(), this.spec)`: a new plain object per call, written by
   * {@link flatValuesInto}.
   */
  flatValues(): FlatFeatureValues {
    return new this.FlatRecord(this);
  }

  /**
   * {@link flatValues} written into `out` (every key of {@link featureKeys}`(spec)`, in spec order; other
   * keys of `out` are left as they are) and returned. Reads the indicators' state directly: no
   * per-indicator copy, no walk over the spec, no allocation once `out` has its keys.
   */
  flatValuesInto(out: FlatFeatureValues): FlatFeatureValues {
    const slots = this.plan.slots;
    const s = this.st;
    for (let i = 0; i < slots.length; i++) {
      const p = slots[i] as Slot; // i < slots.length
      const t = p.step;
      const fields = p.fields;
      const keys = p.keys;
      if (t !== null) {
        const stable = packedStable(s, t);
        if (keys === null) {
          out[p.key] = stable ? packedValue(s, t) : null;
        } else if (!stable) {
          for (let j = 0; j < keys.length; j++) out[keys[j] as string] = null; // j < keys.length
        } else if (t.kind === PACKED_MACD) {
          // As MACD.getResult(): macd, signal, histogram = macd - signal (keys in that order).
          const o = t.o;
          const sig = s[o + 7] ?? NaN;
          const macd = (s[o + 6] ?? NaN) - (s[o + 5] ?? NaN);
          out[keys[0] as string] = macd; // MACD has 3 keys
          out[keys[1] as string] = sig;
          out[keys[2] as string] = macd - sig;
        } else {
          // As BollingerBands.getResult(): upper, middle, lower (keys in that order).
          const o = t.o;
          const mid = s[o + 4] ?? NaN;
          const d = (s[o + 5] ?? NaN) * t.k;
          out[keys[0] as string] = mid + d; // Bollinger has 3 keys
          out[keys[1] as string] = mid;
          out[keys[2] as string] = mid - d;
        }
        continue;
      }
      const r = this.entry(p).ind.getResult();
      if (fields === null || keys === null) {
        out[p.key] = typeof r === 'number' ? r : null;
        continue;
      }
      const o = r !== null && typeof r === 'object' ? (r as Readonly<Record<string, number>>) : null;
      for (let j = 0; j < fields.length; j++) {
        const x = o === null ? undefined : o[fields[j] as string]; // j < fields.length = keys.length
        out[keys[j] as string] = typeof x === 'number' ? x : null;
      }
    }
    return out;
  }

  snapshot(): IndicatorSetSnapshot {
    const s = this.st;
    return Object.fromEntries(
      this.plan.slots.map((slot) => [
        slot.name,
        slot.step === null
          ? this.entry(slot).ind.snapshot()
          : packedSnapshot(s, slot.step, slot.kind, slot.params),
      ]),
    );
  }

  /** Restores every indicator; throws `FEATURES_BAD_SNAPSHOT` if one does not match. */
  restore(snapshot: IndicatorSetSnapshot): void {
    for (const slot of this.plan.slots) {
      const s = snapshot[slot.name];
      const t = slot.step;
      if (t === null || slot.make === null) {
        this.entry(slot).ind.restore(s as IndicatorSnapshot); // undefined: the class throws
        continue;
      }
      // The class checks the snapshot (kind, version, parameters, fields) and throws as it would.
      slot.make().restore(s as IndicatorSnapshot);
      packedLoad(this.st, t, s as IndicatorSnapshot);
    }
  }
}

/** Compiles a feature set spec (throws `INVALID_OPTIONS` for an unknown kind or bad parameters). */
export function createIndicatorSet(spec: FeatureSetSpec = DEFAULT_FEATURE_SET): IndicatorSet {
  return new IndicatorSet(spec);
}
