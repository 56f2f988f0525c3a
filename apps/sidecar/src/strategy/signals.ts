// The signal book: evaluates the strategy on fresh features, keeps the latest signal per symbol,
// re-dates it when the same bars come again, ages it for readers and queues it for the shared cache.
import { type Bar, type Clock } from '@pipeline/core';
import { createEmitter } from '../events';
import { type FeatureValues, type MetricsPort } from '../ports';
import { type SymbolState } from '../state/symbol-state';
import {
  ageSignal,
  BookSignal,
  lazyReasons,
  type Direction,
  type Signal,
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
 * be read (the book then keeps nothing for it).
 */
export interface SignalHandle {
  read(): StoredSignal;
  release(): void;
}

/** What every slot of one book shares. */
interface BookContext {
  readonly strategy: string;
  readonly explain: (input: StrategyInput) => string[];
}

/**
 * One symbol's latest signal, kept in place (issue 16): a signal of the book's own making is its
 * decision, bar, feature values and times in these fields, updated every cycle; the signal object
 * ({@link BookSignal}, with its lazy reasons) is made only when something reads it. At 20,000
 * symbols a cycle allocates more than V8's young generation holds, so a signal object per symbol
 * per cycle lived across two scavenges and was promoted, then replaced: old-generation garbage.
 */
class SignalSlot {
  direction: Direction = 'flat';
  confidence = 0;
  stop: number | null = null;
  target: number | null = null;
  /** The bar of the book's own signal; null while the slot holds none (`other` or nothing). */
  bar: Bar | null = null;
  features: FeatureValues | null = null;
  brokerSymbol = '';
  dataAt = 0;
  generatedAt = 0;
  /** A signal not kept in the fields: adopted, or from a strategy without decide/explain. */
  other: StoredSignal | null = null;
  /** The object of the current signal, once made. */
  made: StoredSignal | null = null;
  /** The current evaluation's lazy reasons, once made (a re-dated signal shares them). */
  reasons: string[] | null = null;
  /** A handle on the current signal that may still be read. */
  handle: SlotHandle | null = null;
  constructor(
    readonly symbol: string,
    private readonly book: BookContext,
  ) {}
  get present(): boolean {
    return this.bar !== null || this.other !== null;
  }
  get stamp(): number {
    return this.other !== null ? this.other.generatedAt : this.generatedAt;
  }
  /** The current signal's object (call only when {@link present}). */
  current(): StoredSignal {
    if (this.made !== null) return this.made;
    if (this.other !== null) return (this.made = this.other);
    const bar = this.bar;
    const features = this.features;
    if (bar === null || features === null) throw new Error(`signal book: no signal for ${this.symbol}`);
    const input: StrategyInput = { symbol: this.symbol, bar, features };
    const reasons = (this.reasons ??= lazyReasons(this.book.explain, input));
    return (this.made = new BookSignal(
      this,
      reasons,
      input,
      this.brokerSymbol,
      this.book.strategy,
      this.dataAt,
      this.generatedAt,
    ));
  }
  /** Before the fields change: a handle still out gets its signal's object now. */
  settle(): void {
    const h = this.handle;
    if (h === null) return;
    this.handle = null;
    h.fix(this.current());
  }
  handOut(): SlotHandle {
    this.settle();
    return (this.handle = new SlotHandle(this));
  }
}

class SlotHandle implements SignalHandle {
  private signal: StoredSignal | null = null;
  constructor(private slot: SignalSlot | null) {}
  fix(signal: StoredSignal): void {
    this.signal = signal;
    this.slot = null;
  }
  read(): StoredSignal {
    if (this.signal !== null) return this.signal;
    const slot = this.slot;
    if (slot === null) throw new Error('signal book: a released signal handle was read');
    return (this.signal = slot.current());
  }
  release(): void {
    const slot = this.slot;
    if (slot !== null && slot.handle === this) slot.handle = null;
    this.slot = null;
  }
}

export function createSignalBook(options: SignalBookOptions): SignalBook {
  const { strategy, clock, staleAfterMs } = options;
  const slots = new Map<string, SignalSlot>();
  const events = createEmitter<StoredSignal>();
  const handles = new Set<(symbol: string, handle: SignalHandle) => void>();
  let queue: StoredSignal[] = [];
  const decide = strategy.decide?.bind(strategy);
  const explain = strategy.explain?.bind(strategy);
  const context: BookContext = {
    strategy: strategy.name,
    explain: explain ?? ((input) => strategy.evaluate(input).reasons),
  };
  const slotOf = (symbol: string): SignalSlot => {
    let slot = slots.get(symbol);
    if (slot === undefined) slots.set(symbol, (slot = new SignalSlot(symbol, context)));
    return slot;
  };
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
  const record = (state: SymbolState, bar: Bar, features: FeatureValues, dataAt: number): SignalSlot => {
    const slot = slotOf(state.symbol);
    slot.settle();
    const generatedAt = clock.now();
    const input: StrategyInput = { symbol: state.symbol, bar, features };
    slot.made = null;
    slot.reasons = null;
    if (decide && explain) {
      // With `decide` and `explain` the reasons are built on first read, and the signal object
      // only when one is read (SignalSlot).
      const d = decide(input);
      slot.direction = d.direction;
      slot.confidence = d.confidence;
      slot.stop = d.stop;
      slot.target = d.target;
      slot.bar = bar;
      slot.features = features;
      slot.brokerSymbol = state.brokerSymbol;
      slot.dataAt = dataAt;
      slot.generatedAt = generatedAt;
      slot.other = null;
    } else {
      slot.other = plain(input, state.brokerSymbol, dataAt, generatedAt);
      slot.bar = null;
      slot.features = null;
    }
    if (options.publish) queue.push(slot.current());
    options.metrics.signalLatency.observe((generatedAt - dataAt) / 1000);
    if (events.size > 0) events.emit(slot.current());
    if (handles.size > 0) for (const fn of handles) fn(state.symbol, slot.handOut());
    return slot;
  };
  return {
    evaluate: (state, bar, features, dataAt) => record(state, bar, features, dataAt).current(),
    record(state, bar, features, dataAt) {
      record(state, bar, features, dataAt);
    },
    redate(symbol, dataAt) {
      const slot = slots.get(symbol);
      if (!slot?.present) return;
      // Handed-out objects keep their time: a handle gets its object now, and the next read makes
      // a new one (sharing the reasons); another kind of signal is copied.
      slot.settle();
      slot.made = null;
      if (slot.other !== null) {
        const s = slot.other;
        slot.other = Object.assign(
          s instanceof BookSignal ? (Object.create(BookSignal.prototype) as BookSignal) : {},
          s,
          { dataAt },
        );
      } else slot.dataAt = dataAt;
    },
    adopt(signal) {
      const slot = slotOf(signal.symbol);
      if (slot.present && signal.generatedAt < slot.stamp) return;
      slot.settle();
      slot.made = null;
      slot.reasons = null;
      slot.other = signal;
      slot.bar = null;
      slot.features = null;
    },
    get(symbol) {
      const slot = slots.get(symbol);
      return slot?.present ? ageSignal(slot.current(), clock.now(), staleAfterMs) : null;
    },
    all() {
      const now = clock.now();
      const out: Signal[] = [];
      for (const sym of options.symbols) {
        const slot = slots.get(sym);
        if (slot?.present) out.push(ageSignal(slot.current(), now, staleAfterMs));
      }
      return out;
    },
    drain() {
      const batch = queue;
      queue = [];
      return batch;
    },
    onSignal: events.on,
    onSignalHandle(fn) {
      handles.add(fn);
      return () => void handles.delete(fn);
    },
  };
}
