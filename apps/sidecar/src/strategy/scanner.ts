import { assertNumberOption, resolveOptions, type Bar } from '@pipeline/core';
import { type FeatureValues } from '../ports';
import { STRATEGY_KEYS } from './features';

/** Signal directions. */
export const DIRECTIONS = { long: 'long', short: 'short', flat: 'flat' } as const;
export type Direction = (typeof DIRECTIONS)[keyof typeof DIRECTIONS];

/** What a strategy sees for one symbol after a cycle. */
export interface StrategyInput {
  symbol: string;
  /** The latest bar (possibly still forming). */
  bar: Bar;
  /** The latest indicator values (null: not stable yet). */
  features: FeatureValues;
}

/** What a strategy decides, before the scanner adjusts confidence for data quality and age. */
export interface StrategyResult {
  direction: Direction;
  /** 0..1 before quality and staleness adjustment. */
  confidence: number;
  reasons: string[];
  /** Suggested protective stop and target prices (null for flat or without ATR). */
  stop: number | null;
  target: number | null;
}

/** What a strategy decides, without the reasons (see {@link Strategy.decide}). */
export type StrategyDecision = Omit<StrategyResult, 'reasons'>;

/**
 * A decision written in place ({@link Strategy.decideInto}): the {@link StrategyDecision} fields, with
 * `stop` and `target` always numbers and `hasStop` / `hasTarget` saying whether there is one (false:
 * the decision's null). Numbers only, so an object kept and rewritten every cycle (the signal book's
 * slot of a symbol) holds them in place rather than a new boxed number per write.
 */
export class DecisionFields {
  direction: Direction = 'flat';
  // Doubles from the start (not 0, a small integer): V8 then keeps each field as one number box
  // written in place.
  confidence = Number.NaN;
  stop = Number.NaN;
  target = Number.NaN;
  hasStop = false;
  hasTarget = false;
  /** The decision as {@link Strategy.decide} returns it (a new object). */
  toDecision(): StrategyDecision {
    return {
      direction: this.direction,
      confidence: this.confidence,
      stop: this.hasStop ? this.stop : null,
      target: this.hasTarget ? this.target : null,
    };
  }
}

/** A pluggable signal strategy: pure, synchronous, and fast (it runs for every symbol every cycle). */
export interface Strategy {
  readonly name: string;
  evaluate(input: StrategyInput): StrategyResult;
  /**
   * Optional, with `explain`: `evaluate`'s decision without its reasons. The signal book then calls
   * `explain` on the same input only when the signal is read (HTTP, stream, shared cache), so the
   * reason strings are not built every cycle for signals nobody reads.
   */
  decide?(input: StrategyInput): StrategyDecision;
  /** The reasons `evaluate` gives for this input. */
  explain?(input: StrategyInput): string[];
  /**
   * Optional, with `decide` and `explain`: `decide`'s decision written into `out` instead of a new
   * object (the signal book's hot path: one decision per symbol per cycle). It must not keep `input`
   * (the book reuses the object).
   */
  decideInto?(input: StrategyInput, out: DecisionFields): void;
}

/** A signal as stored after a cycle; the API adds its age with {@link ageSignal}. */
export interface StoredSignal extends StrategyResult {
  symbol: string;
  brokerSymbol: string;
  strategy: string;
  /** Confidence the strategy gave, before quality and age adjustment. */
  rawConfidence: number;
  price: number;
  /** Open time of the bar the signal used, epoch ms. */
  dataTs: number;
  /** When the data was last refreshed from a source, epoch ms (the age is measured from here). */
  dataAt: number;
  generatedAt: number;
  quality: number;
  indicators: FeatureValues;
}

/** A signal as the API serves it. */
export interface Signal extends StoredSignal {
  ageMs: number;
  stale: boolean;
}

/** Feature names the default strategy reads; override to match another feature engine. */
export interface DefaultStrategyKeys {
  emaFast: string;
  emaSlow: string;
  rsi: string;
  macdHistogram: string;
  bbUpper: string;
  bbLower: string;
  atr: string;
}

export interface DefaultStrategyOptions {
  /** Feature names to read. @default DEFAULT_STRATEGY_OPTIONS.keys */
  keys?: DefaultStrategyKeys;
  /** |score| at or above which the signal is long/short rather than flat (score is -1..1). @default 0.35 */
  threshold?: number;
  /** RSI above this is bullish momentum, below 100 minus it bearish. @default 55 */
  rsiBull?: number;
  /** Stop distance in ATRs. @default 1.5 */
  stopAtr?: number;
  /** Target distance in ATRs. @default 3 */
  targetAtr?: number;
}

export const DEFAULT_STRATEGY_OPTIONS: Readonly<Required<DefaultStrategyOptions>> = Object.freeze({
  keys: STRATEGY_KEYS,
  threshold: 0.35,
  rsiBull: 55,
  stopAtr: 1.5,
  targetAtr: 3,
});

const WEIGHTS = { trend: 0.4, rsi: 0.2, macd: 0.25, bollinger: 0.15 } as const;

/**
 * The default strategy. Score in -1..1 = 0.4 trend (fast EMA vs slow EMA) + 0.2 RSI momentum +
 * 0.25 MACD histogram sign + 0.15 Bollinger position (%B: riding the upper half is bullish, a close
 * beyond a band counts as stretched and weighs against the move). |score| >= threshold gives long
 * or short with that confidence; stop and target are ATR multiples from the close.
 */
export function createDefaultStrategy(options?: DefaultStrategyOptions): Strategy {
  const o = resolveOptions('createDefaultStrategy', DEFAULT_STRATEGY_OPTIONS, options);
  assertNumberOption('createDefaultStrategy', 'threshold', o.threshold, 0, 1);
  assertNumberOption('createDefaultStrategy', 'rsiBull', o.rsiBull, 50, 100);
  assertNumberOption('createDefaultStrategy', 'stopAtr', o.stopAtr, 0);
  assertNumberOption('createDefaultStrategy', 'targetAtr', o.targetAtr, 0);
  const k = o.keys;
  /**
   * The decision, written into `out`; the reasons go to `reasons` when given (null: not wanted now).
   * No object is made on the way (issue 16: the book decides for every symbol every cycle).
   */
  const run = ({ bar, features }: StrategyInput, reasons: string[] | null, out: DecisionFields): void => {
    let score = 0;
    let weight = 0;
    const fast = finite(features[k.emaFast]);
    const slow = finite(features[k.emaSlow]);
    if (fast !== null && slow !== null) {
      weight += WEIGHTS.trend;
      const up = fast > slow;
      score += (up ? 1 : -1) * WEIGHTS.trend;
      reasons?.push(
        `trend ${up ? 'up' : 'down'}: ${k.emaFast} ${fmt(fast)} ${up ? '>' : '<='} ${k.emaSlow} ${fmt(slow)}`,
      );
    }
    const rsi = finite(features[k.rsi]);
    if (rsi !== null) {
      weight += WEIGHTS.rsi;
      if (rsi >= o.rsiBull) {
        score += WEIGHTS.rsi;
        reasons?.push(`momentum up: ${k.rsi} ${fmt(rsi)} >= ${o.rsiBull}`);
      } else if (rsi <= 100 - o.rsiBull) {
        score -= WEIGHTS.rsi;
        reasons?.push(`momentum down: ${k.rsi} ${fmt(rsi)} <= ${100 - o.rsiBull}`);
      } else reasons?.push(`momentum neutral: ${k.rsi} ${fmt(rsi)}`);
    }
    const hist = finite(features[k.macdHistogram]);
    if (hist !== null) {
      weight += WEIGHTS.macd;
      if (hist !== 0) score += Math.sign(hist) * WEIGHTS.macd;
      reasons?.push(`MACD histogram ${hist > 0 ? 'positive' : hist < 0 ? 'negative' : 'zero'}: ${fmt(hist)}`);
    }
    const upper = finite(features[k.bbUpper]);
    const lower = finite(features[k.bbLower]);
    if (upper !== null && lower !== null && upper > lower) {
      weight += WEIGHTS.bollinger;
      const pctB = (bar.close - lower) / (upper - lower);
      // Inside the bands the position follows the trend; beyond a band the move is stretched.
      const b = pctB > 1 ? -0.5 : pctB < 0 ? 0.5 : (pctB - 0.5) * 2;
      score += b * WEIGHTS.bollinger;
      reasons?.push(
        `Bollinger %B ${fmt(pctB)}${pctB > 1 ? ' (above upper band, stretched)' : pctB < 0 ? ' (below lower band, stretched)' : ''}`,
      );
    }
    if (weight === 0) {
      reasons?.push('indicators not stable yet');
      out.direction = 'flat';
      out.confidence = 0;
      out.hasStop = false;
      out.hasTarget = false;
      return;
    }
    const s = Math.max(-1, Math.min(1, score));
    const direction: Direction = s >= o.threshold ? 'long' : s <= -o.threshold ? 'short' : 'flat';
    // A signal built on fewer indicators is less certain: scale by the share of weight present.
    const coverage = weight / (WEIGHTS.trend + WEIGHTS.rsi + WEIGHTS.macd + WEIGHTS.bollinger);
    const confidence = direction === 'flat' ? (1 - Math.abs(s)) * coverage : Math.abs(s) * coverage;
    const atr = finite(features[k.atr]);
    out.direction = direction;
    out.confidence = round(confidence);
    if (atr !== null && atr > 0 && direction !== 'flat') {
      const sign = direction === 'long' ? 1 : -1;
      out.stop = bar.close - sign * o.stopAtr * atr;
      out.target = bar.close + sign * o.targetAtr * atr;
      out.hasStop = true;
      out.hasTarget = true;
      reasons?.push(`stop ${o.stopAtr} ATR, target ${o.targetAtr} ATR (${k.atr} ${fmt(atr)})`);
    } else {
      out.hasStop = false;
      out.hasTarget = false;
    }
  };
  /** Where evaluate, decide and explain have the decision written (synchronous: read at once). */
  const scratch = new DecisionFields();
  return {
    name: 'ema-rsi-macd-bb-atr',
    evaluate(input) {
      const reasons: string[] = [];
      run(input, reasons, scratch);
      const d = scratch.toDecision();
      return { direction: d.direction, confidence: d.confidence, reasons, stop: d.stop, target: d.target };
    },
    decide(input) {
      run(input, null, scratch);
      return scratch.toDecision();
    },
    explain(input) {
      const reasons: string[] = [];
      run(input, reasons, scratch);
      return reasons;
    },
    decideInto: (input, out) => run(input, null, out),
  };
}

/**
 * Proxy handler of {@link lazyReasons}: the array is filled from `explain(input)` on its first use
 * (any read of an element, its length, its keys, iteration, JSON.stringify), never before.
 */
class ReasonsOnRead implements ProxyHandler<string[]> {
  // Two fields, no wrapper object: one signal per symbol per cycle keeps this alive until replaced.
  #explain: ((input: StrategyInput) => string[]) | null;
  #input: StrategyInput | null;
  constructor(explain: (input: StrategyInput) => string[], input: StrategyInput) {
    this.#explain = explain;
    this.#input = input;
  }
  #fill(target: string[]): void {
    const explain = this.#explain;
    const input = this.#input;
    if (explain === null || input === null) return;
    this.#explain = null;
    this.#input = null;
    for (const r of explain(input)) target.push(r);
  }
  get(target: string[], key: string | symbol, receiver: unknown): unknown {
    this.#fill(target);
    return Reflect.get(target, key, receiver) as unknown;
  }
  set(target: string[], key: string | symbol, value: unknown, receiver: unknown): boolean {
    this.#fill(target);
    return Reflect.set(target, key, value, receiver);
  }
  has(target: string[], key: string | symbol): boolean {
    this.#fill(target);
    return Reflect.has(target, key);
  }
  ownKeys(target: string[]): (string | symbol)[] {
    this.#fill(target);
    return Reflect.ownKeys(target);
  }
  getOwnPropertyDescriptor(target: string[], key: string | symbol): PropertyDescriptor | undefined {
    this.#fill(target);
    return Reflect.getOwnPropertyDescriptor(target, key);
  }
  defineProperty(target: string[], key: string | symbol, attributes: PropertyDescriptor): boolean {
    this.#fill(target);
    return Reflect.defineProperty(target, key, attributes);
  }
  deleteProperty(target: string[], key: string | symbol): boolean {
    this.#fill(target);
    return Reflect.deleteProperty(target, key);
  }
}

/**
 * The reasons `explain(input)` gives, as an array built on first use: a signal is made for every
 * symbol every cycle and read far less often, so its reason strings (number formatting) wait for a
 * reader. It is a real array to every reader (`Array.isArray`, spread, JSON, iteration); `input`
 * must not change afterwards (the book passes the bar and the frozen feature values it used).
 */
export function lazyReasons(explain: (input: StrategyInput) => string[], input: StrategyInput): string[] {
  return new Proxy<string[]>([], new ReasonsOnRead(explain, input));
}

function finite(v: number | null | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toPrecision(6);
}
function round(n: number): number {
  return Math.round(n * 1e4) / 1e4;
}

/**
 * Confidence after data quality and age: scaled by the validator's quality score, halved once the
 * data is stale, and fading linearly to zero over ten stale periods after that.
 */
export function adjustedConfidence(
  raw: number,
  quality: number,
  ageMs: number,
  staleAfterMs: number,
): number {
  const q = Math.max(0, Math.min(1, quality));
  let c = raw * q;
  if (ageMs > staleAfterMs) {
    const fade = Math.max(0, 1 - (ageMs - staleAfterMs) / (10 * staleAfterMs));
    c *= 0.5 * fade;
  }
  return round(c);
}

/**
 * A stored signal of the signal book's own making: the {@link StoredSignal} fields as own properties,
 * in the interface's order, nothing else. A class so that every one has the same compact V8 shape and
 * {@link ageSignal} can copy it field by field (a generic copy of an object of this many fields costs
 * V8 several times more: issue 16).
 */
export class BookSignal implements StoredSignal {
  direction: Direction;
  confidence: number;
  reasons: string[];
  stop: number | null;
  target: number | null;
  symbol: string;
  brokerSymbol: string;
  strategy: string;
  rawConfidence: number;
  price: number;
  dataTs: number;
  dataAt: number;
  generatedAt: number;
  quality: number;
  indicators: FeatureValues;
  constructor(
    decision: StrategyDecision,
    reasons: string[],
    input: StrategyInput,
    brokerSymbol: string,
    strategy: string,
    dataAt: number,
    generatedAt: number,
  ) {
    this.direction = decision.direction;
    this.confidence = decision.confidence;
    this.reasons = reasons;
    this.stop = decision.stop;
    this.target = decision.target;
    this.symbol = input.symbol;
    this.brokerSymbol = brokerSymbol;
    this.strategy = strategy;
    this.rawConfidence = decision.confidence;
    this.price = input.bar.close;
    this.dataTs = input.bar.ts;
    this.dataAt = dataAt;
    this.generatedAt = generatedAt;
    this.quality = input.bar.quality;
    this.indicators = input.features;
  }
}

/** The signal as of `now`: its age, stale flag and adjusted confidence. */
export function ageSignal(s: StoredSignal, now: number, staleAfterMs: number): Signal {
  const ageMs = Math.max(0, now - s.dataAt);
  const stale = ageMs > staleAfterMs;
  const confidence = adjustedConfidence(s.rawConfidence, s.quality, ageMs, staleAfterMs);
  if (!(s instanceof BookSignal)) {
    // Any other object (a custom strategy's extra fields, a signal adopted from the shared cache):
    // its own fields in their order, extra ones included. Object.assign, not a spread: V8 spreads
    // an object of this many fields slowly (about 3 us against 0.26 us measured).
    return Object.assign({}, s, { ageMs, stale, confidence });
  }
  // The same fields in the same order as the copy above, in one literal: one object of one shape.
  return {
    direction: s.direction,
    confidence,
    reasons: s.reasons,
    stop: s.stop,
    target: s.target,
    symbol: s.symbol,
    brokerSymbol: s.brokerSymbol,
    strategy: s.strategy,
    rawConfidence: s.rawConfidence,
    price: s.price,
    dataTs: s.dataTs,
    dataAt: s.dataAt,
    generatedAt: s.generatedAt,
    quality: s.quality,
    indicators: s.indicators,
    ageMs,
    stale,
  };
}
