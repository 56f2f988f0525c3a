// The signal book: evaluates the strategy on fresh features, keeps the latest signal per symbol,
// re-dates it when the same bars come again, ages it for readers and queues it for the shared cache.
import { type Bar, type Clock, SequentialMap } from '@pipeline/core';
import { createEmitter, createListeners } from '../events';
import { type FeatureValues, type MetricsPort } from '../ports';
import { type SymbolState } from '../state/symbol-state';
import {
  ageSignal,
  BookSignal,
  DecisionFields,
  lazyReasons,
  type Direction,
  type Signal,
  type StrategyDecision,
  type StoredSignal,
  type Strategy,
  type StrategyInput,
} from './scanner';

export interface SignalBookOptions {
  strategy: Strategy;
  clock: Clock;
  metrics: Pick<MetricsPort, 'signalLatency'>;
  /** Symbols in the order `all()` lists them. */
  symbols: readonly string[];
  /** STALE_AFTER in ms. */
  staleAfterMs: number;
  /**
   * Queue every new signal for {@link SignalBook.drain} (only a shared cache such as Redis has other
   * readers; the API reads the book, so copying into an in-process cache would only cost encoding).
   */
  publish: boolean;
}

export interface SignalBook {
  /** Evaluates the strategy on the symbol's newest bar and features; stores and announces the signal. */
  evaluate(state: SymbolState, bar: Bar, features: FeatureValues, dataAt: number): StoredSignal;
  /**
   * {@link evaluate} without its return value: the hot path (ingest), which then makes no signal
   * object unless a reader (a listener, the shared cache's queue) needs one.
   */
  record(state: SymbolState, bar: Bar, features: FeatureValues, dataAt: number): void;
  /** The same bars came again: the data is still fresh, so the signal's age restarts at `dataAt`. */
  redate(symbol: string, dataAt: number): void;
  /** The symbol's signal aged to now, or null before the first one. */
  get(symbol: string): Signal | null;
  /** Every symbol's signal aged to now, in configuration order. */
  all(): Signal[];
  /**
   * Cluster mode: the signal another instance made for a symbol it owns (read from the shared
   * cache) replaces this book's copy when newer; not queued, not announced.
   */
  adopt(signal: StoredSignal): void;
  /** Signals made since the last drain (for the shared cache); empties the queue. */
  drain(): StoredSignal[];
  /** Called with every new signal; returns the unsubscribe function. */
  onSignal(fn: (signal: StoredSignal) => void): () => void;
  /**
   * Called with every new signal as a handle whose object is made only when read (the push
   * stream's replay ring, which mostly overwrites its events unread); returns the unsubscribe function.
   */
  onSignalHandle(fn: (symbol: string, handle: SignalHandle) => void): () => void;
}

/**
 * One new signal for a deferred reader: `read()` gives the signal as it was stored (the same fields
 * as the {@link SignalBook.onSignal} object; made on the first call), `release()` says it will not
 * be read (the book then keeps nothing for it). Released, a handle is done with: the book may hand
 * the same object out again for a later signal of the symbol (so that a handle per symbol per cycle
 * costs no allocation), so neither method may be called on it again.
 */
export interface SignalHandle {
  read(): StoredSignal;
  release(): void;
}

/**
 * Every symbol's latest signal, kept in place as columns indexed by the symbol's position (issue 16):
 * a signal of the book's own making is its decision, bar, feature values and times, rewritten every
 * cycle; the signal object ({@link BookSignal}, with its lazy reasons) is made only when something
 * reads it. At 20,000 symbols a cycle allocates more than V8's young generation holds, so a signal
 * object per symbol per cycle lived across two scavenges and was promoted, then replaced:
 * old-generation garbage. As columns, recording a signal touches no object of the symbol's (each
 * one a cache miss at that size) and writes its numbers without boxing them; the configured
 * symbols come first, in configuration order, which is mostly the order a cycle records them in.
 */
class Slots {
  readonly symbols: string[] = [];
  /** The bar of the book's own signal; null while the position holds none (`other` or nothing). */
  readonly bars: (Bar | null)[] = [];
  readonly features: (FeatureValues | null)[] = [];
  readonly brokers: string[] = [];
  readonly directions: Direction[] = [];
  /** A signal not kept in the columns: adopted, or from a strategy without decide/explain. */
  readonly others: (StoredSignal | null)[] = [];
  /** The object of the current signal, once made. */
  readonly made: (StoredSignal | null)[] = [];
  /** The current evaluation's lazy reasons, once made (a re-dated signal shares them). */
  readonly reasons: (string[] | null)[] = [];
  /** The handle last handed out (see {@link SlotHandle}). */
  readonly handles: (SlotHandle | null)[] = [];
  // Numbers and flags, in typed arrays grown as positions are added.
  confidence = new Float64Array(16);
  stop = new Float64Array(16);
  target = new Float64Array(16);
  dataAt = new Float64Array(16);
  generatedAt = new Float64Array(16);
  /** HAS_STOP | HAS_TARGET | HANDLE_OUT. */
  flags = new Uint8Array(16);
  constructor(
    readonly strategy: string,
    readonly explain: (input: StrategyInput) => string[],
  ) {}
  get size(): number {
    return this.symbols.length;
  }
  /** A new position for `symbol`. */
  add(symbol: string): number {
    const i = this.symbols.length;
    this.symbols.push(symbol);
    this.bars.push(null);
    this.features.push(null);
    this.brokers.push('');
    this.directions.push('flat');
    this.others.push(null);
    this.made.push(null);
    this.reasons.push(null);
    this.handles.push(null);
    if (i >= this.flags.length) {
      const size = 2 * this.flags.length;
      const grown = (a: Float64Array) => {
        const b = new Float64Array(size);
        b.set(a);
        return b;
      };
      this.confidence = grown(this.confidence);
      this.stop = grown(this.stop);
      this.target = grown(this.target);
      this.dataAt = grown(this.dataAt);
      this.generatedAt = grown(this.generatedAt);
      const flags = new Uint8Array(size);
      flags.set(this.flags);
      this.flags = flags;
    }
    return i;
  }
  present(i: number): boolean {
    return this.bars[i] != null || this.others[i] != null;
  }
  stamp(i: number): number {
    const other = this.others[i];
    return other != null ? other.generatedAt : (this.generatedAt[i] ?? NaN);
  }
  /** The current signal's object at `i` (call only when {@link present}). */
  current(i: number): StoredSignal {
    const made = this.made[i];
    if (made != null) return made;
    const other = this.others[i];
    if (other != null) return (this.made[i] = other);
    const symbol = this.symbols[i] ?? '';
    const bar = this.bars[i];
    const features = this.features[i];
    if (bar == null || features == null) throw new Error(`signal book: no signal for ${symbol}`);
    const input: StrategyInput = { symbol, bar, features };
    const reasons = this.reasons[i] ?? (this.reasons[i] = lazyReasons(this.explain, input));
    const flags = this.flags[i] ?? 0;
    const decision: StrategyDecision = {
      direction: this.directions[i] ?? 'flat',
      confidence: this.confidence[i] ?? NaN,
      stop: flags & HAS_STOP ? (this.stop[i] ?? NaN) : null,
      target: flags & HAS_TARGET ? (this.target[i] ?? NaN) : null,
    };
    return (this.made[i] = new BookSignal(
      decision,
      reasons,
      input,
      this.brokers[i] ?? '',
      this.strategy,
      this.dataAt[i] ?? NaN,
      this.generatedAt[i] ?? NaN,
    ));
  }
  /** Before the signal at `i` changes: its handle still out that reads it gets the object now. */
  settle(i: number): void {
    if (((this.flags[i] ?? 0) & HANDLE_OUT) === 0) return;
    const h = this.handles[i];
    if (h != null && h.signal === null) h.signal = this.current(i);
  }
  /** A handle on the current signal at `i`: the last one when it was released, else a new one. */
  handOut(i: number): SlotHandle {
    this.settle(i);
    let h = this.handles[i];
    const flags = this.flags[i] ?? 0;
    if (h == null || (flags & HANDLE_OUT) !== 0) {
      // The last one is still out (with its object): it stays so, on its own, and a new one reads.
      if (h != null) h.out = true;
      this.handles[i] = h = new SlotHandle(this, i);
    }
    this.flags[i] = flags | HANDLE_OUT;
    return h;
  }
}

const HAS_STOP = 1;
const HAS_TARGET = 2;
/** The position's last handle is out (handed out, not released). */
const HANDLE_OUT = 4;

/**
 * A handle on one signal of one position. At 20,000 symbols the stream feed's replay ring releases
 * each handle unread long before the symbol's next signal, so the position hands the same object out
 * again: no handle per symbol per cycle, and recording a signal does not touch it (issue 16). Whether
 * the position's last handle is out is a flag of the position; an earlier handle still out, which
 * has its signal's object, keeps that in `out`.
 */
class SlotHandle implements SignalHandle {
  /** The signal's object once made or fixed (null: the position's current signal). */
  signal: StoredSignal | null = null;
  /** Out, for a handle that is no longer its position's last one. */
  out = false;
  constructor(
    private readonly slots: Slots,
    private readonly i: number,
  ) {}
  private get last(): boolean {
    return this.slots.handles[this.i] === this;
  }
  read(): StoredSignal {
    const out = this.last ? ((this.slots.flags[this.i] ?? 0) & HANDLE_OUT) !== 0 : this.out;
    if (!out) throw new Error('signal book: a released signal handle was read');
    return (this.signal ??= this.slots.current(this.i));
  }
  release(): void {
    this.signal = null;
    if (this.last) this.slots.flags[this.i] = (this.slots.flags[this.i] ?? 0) & ~HANDLE_OUT;
    else this.out = false;
  }
}

export function createSignalBook(options: SignalBookOptions): SignalBook {
  const { strategy, clock, staleAfterMs } = options;
  const events = createEmitter<StoredSignal>();
  const handles = createListeners<(symbol: string, handle: SignalHandle) => void>();
  let queue: StoredSignal[] = [];
  const decide = strategy.decide?.bind(strategy);
  const explain = strategy.explain?.bind(strategy);
  const decideInto = decide && explain ? strategy.decideInto?.bind(strategy) : undefined;
  const slots = new Slots(strategy.name, explain ?? ((input) => strategy.evaluate(input).reasons));
  /**
   * Each symbol's position. A cycle records the symbols mostly in the order of the cycle before, so
   * the position last found and the one that followed it last time are tried first (by symbol): at
   * 20,000 symbols a lookup in the Map of all of them costs a cache miss or two per symbol per cycle
   * (issue 16). Reads outside the cycle (`get`, `all`) peek, leaving that order alone.
   */
  const positions = new SequentialMap<string, number>();
  for (const symbol of options.symbols) if (!positions.has(symbol)) positions.set(symbol, slots.add(symbol));
  /** The symbol's position, or -1. */
  const find = (symbol: string): number => positions.get(symbol) ?? -1;
  const positionOf = (symbol: string): number => {
    let i = find(symbol);
    if (i < 0) positions.set(symbol, (i = slots.add(symbol)));
    return i;
  };
  /** The input handed to `decideInto`, which keeps none (one object for every call). */
  const scratch: StrategyInput = {
    symbol: '',
    bar: null as unknown as Bar,
    features: null as unknown as FeatureValues,
  };
  /** Where `decideInto` writes (copied into the columns at once). */
  const decided = new DecisionFields();
  /**
   * A strategy without `decide` and `explain`: its result spread as it is, extra fields included,
   * with the symbol, bar and times.
   */
  const plain = (input: StrategyInput, brokerSymbol: string, dataAt: number, generatedAt: number) => {
    const { symbol, bar, features } = input;
    const result = strategy.evaluate(input);
    return {
      ...result,
      symbol,
      brokerSymbol,
      strategy: strategy.name,
      rawConfidence: result.confidence,
      price: bar.close,
      dataTs: bar.ts,
      dataAt,
      generatedAt,
      quality: bar.quality,
      indicators: features,
    };
  };
  const record = (state: SymbolState, bar: Bar, features: FeatureValues, dataAt: number): number => {
    const i = positionOf(state.symbol);
    slots.settle(i);
    const generatedAt = clock.now();
    slots.made[i] = null;
    slots.reasons[i] = null;
    if (decide && explain) {
      // With `decide` and `explain` the reasons are built on first read, and the signal object
      // only when one is read (Slots.current); with `decideInto` the decision is written in place.
      let flags = (slots.flags[i] ?? 0) & HANDLE_OUT;
      if (decideInto) {
        scratch.symbol = state.symbol;
        scratch.bar = bar;
        scratch.features = features;
        decideInto(scratch, decided);
        scratch.bar = null as unknown as Bar;
        scratch.features = null as unknown as FeatureValues;
        slots.directions[i] = decided.direction;
        slots.confidence[i] = decided.confidence;
        if (decided.hasStop) flags |= HAS_STOP;
        slots.stop[i] = decided.stop;
        if (decided.hasTarget) flags |= HAS_TARGET;
        slots.target[i] = decided.target;
      } else {
        const d = decide({ symbol: state.symbol, bar, features });
        slots.directions[i] = d.direction;
        slots.confidence[i] = d.confidence;
        if (d.stop !== null) flags |= HAS_STOP;
        slots.stop[i] = d.stop ?? NaN;
        if (d.target !== null) flags |= HAS_TARGET;
        slots.target[i] = d.target ?? NaN;
      }
      slots.flags[i] = flags;
      slots.dataAt[i] = dataAt;
      slots.generatedAt[i] = generatedAt;
      slots.bars[i] = bar;
      slots.features[i] = features;
      slots.brokers[i] = state.brokerSymbol;
      slots.others[i] = null;
    } else {
      slots.others[i] = plain(
        { symbol: state.symbol, bar, features },
        state.brokerSymbol,
        dataAt,
        generatedAt,
      );
      slots.bars[i] = null;
      slots.features[i] = null;
    }
    if (options.publish) queue.push(slots.current(i));
    options.metrics.signalLatency.observe((generatedAt - dataAt) / 1000);
    if (events.size > 0) events.emit(slots.current(i));
    const fns = handles.list;
    for (let k = 0; k < fns.length; k++) fns[k]?.(state.symbol, slots.handOut(i));
    return i;
  };
  return {
    evaluate: (state, bar, features, dataAt) => slots.current(record(state, bar, features, dataAt)),
    record(state, bar, features, dataAt) {
      record(state, bar, features, dataAt);
    },
    redate(symbol, dataAt) {
      const i = find(symbol);
      if (i < 0 || !slots.present(i)) return;
      // Handed-out objects keep their time: a handle gets its object now, and the next read makes
      // a new one (sharing the reasons); another kind of signal is copied.
      slots.settle(i);
      slots.made[i] = null;
      const s = slots.others[i];
      if (s != null) {
        slots.others[i] = Object.assign(
          s instanceof BookSignal ? (Object.create(BookSignal.prototype) as BookSignal) : {},
          s,
          { dataAt },
        );
      } else slots.dataAt[i] = dataAt;
    },
    adopt(signal) {
      const i = positionOf(signal.symbol);
      if (slots.present(i) && signal.generatedAt < slots.stamp(i)) return;
      slots.settle(i);
      slots.made[i] = null;
      slots.reasons[i] = null;
      slots.others[i] = signal;
      slots.bars[i] = null;
      slots.features[i] = null;
    },
    get(symbol) {
      const i = positions.peek(symbol);
      return i !== undefined && slots.present(i)
        ? ageSignal(slots.current(i), clock.now(), staleAfterMs)
        : null;
    },
    all() {
      const now = clock.now();
      const out: Signal[] = [];
      for (const sym of options.symbols) {
        const i = positions.peek(sym);
        if (i !== undefined && slots.present(i)) out.push(ageSignal(slots.current(i), now, staleAfterMs));
      }
      return out;
    },
    drain() {
      const batch = queue;
      queue = [];
      return batch;
    },
    onSignal: events.on,
    onSignalHandle: handles.on,
  };
}
