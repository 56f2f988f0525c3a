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

/** One entry of {@link IndicatorSet}'s flat plan (a class, so every step has one hidden class). */
class FlatStep {
  constructor(
    readonly ind: Entry['ind'],
    /** The key of a single-output indicator. */
    readonly key: string,
    /** A multi-output indicator's result fields, and the key each is written under (same length). */
    readonly fields: readonly string[] | null,
    readonly keys: readonly string[] | null,
  ) {}
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
    const fn = function (this: FlatFeatureValues, set: IndicatorSet): void {
      for (let i = 0; i < keys.length; i++) this[keys[i] as string] = null; // i < keys.length
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
 * A compiled feature set: every indicator of a {@link FeatureSetSpec}, updated together from one bar.
 * `update(bar, true)` replaces the forming bar in every indicator.
 */
export class IndicatorSet {
  private readonly entries: Entry[];
  /** Largest lookback of the set: the bars needed before every value is non-null. */
  readonly lookback: number;
  readonly names: readonly string[];
  /** The spec this set was compiled from. */
  readonly spec: FeatureSetSpec;
  // Indicators grouped by class so that each update loop below calls one class only (monomorphic,
  // inlinable); dispatching through one closure per entry costs about twice as much.
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
  /** What {@link flatValuesInto} writes: per entry its key, or its output fields and their keys. */
  private readonly flatPlan: FlatStep[];
  /** Makes the records of {@link flatValues} (shared by every set compiled from the same spec object). */
  private readonly FlatRecord: FlatRecordConstructor;

  constructor(spec: FeatureSetSpec = DEFAULT_FEATURE_SET) {
    if (typeof spec !== 'object' || spec === null)
      throw new OptionsError(`IndicatorSet: spec must be an object, got ${String(spec)}`);
    const compiled = Object.entries(spec).map(([name, s]) => ({ e: compile(name, s), spec_: s }));
    this.entries = compiled.map((c) => c.e);
    this.names = this.entries.map((e) => e.name);
    this.spec = spec;
    this.lookback = this.entries.reduce((m, e) => Math.max(m, e.ind.lookback), 0);
    const suffixes = FEATURE_OUTPUT_SUFFIXES as Readonly<Record<string, Readonly<Record<string, string>>>>;
    this.flatPlan = compiled.map(({ e, spec_ }) => {
      const outputs = suffixes[spec_.kind];
      return new FlatStep(
        e.ind,
        e.name,
        outputs ? Object.keys(outputs) : null,
        outputs ? Object.values(outputs).map((sfx) => e.name + sfx) : null,
      );
    });
    for (const { e, spec_ } of compiled) {
      const closeOnly = !('source' in spec_) || spec_.source === undefined || spec_.source === 'close';
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
    this.FlatRecord = flatRecordConstructor(spec);
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

  values(): FeatureValues {
    const out: FeatureValues = {};
    for (const e of this.entries) {
      const r = e.ind.getResult();
      out[e.name] = r === null || typeof r === 'number' ? r : { ...(r as Record<string, number>) };
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
   * keys of `out` are left as they are) and returned. Reads the indicators' results directly: no
   * per-indicator copy, no walk over the spec, no allocation once `out` has its keys.
   */
  flatValuesInto(out: FlatFeatureValues): FlatFeatureValues {
    const plan = this.flatPlan;
    for (let i = 0; i < plan.length; i++) {
      const p = plan[i] as FlatStep; // i < plan.length
      const r = p.ind.getResult();
      const fields = p.fields;
      const keys = p.keys;
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
    return Object.fromEntries(this.entries.map((e) => [e.name, e.ind.snapshot()]));
  }

  /** Restores every indicator; throws `FEATURES_BAD_SNAPSHOT` if one does not match. */
  restore(snapshot: IndicatorSetSnapshot): void {
    for (const e of this.entries) {
      const s = snapshot[e.name];
      if (s === undefined) {
        e.ind.restore(undefined as unknown as IndicatorSnapshot);
      } else {
        e.ind.restore(s);
      }
    }
  }
}

/** Compiles a feature set spec (throws `INVALID_OPTIONS` for an unknown kind or bad parameters). */
export function createIndicatorSet(spec: FeatureSetSpec = DEFAULT_FEATURE_SET): IndicatorSet {
  return new IndicatorSet(spec);
}
