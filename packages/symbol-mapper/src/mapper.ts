import {
  OptionsError,
  assertNumberOption,
  resolveOptions,
  type SourceName,
  SOURCE_NAMES,
} from '@pipeline/core';
import { builtinInstruments } from './builtin';
import { validateSymbolMapEntries } from './entries';
import {
  SYMBOL_MAPPER_ERROR_CODES,
  SymbolMapEntryError,
  UnknownBrokerError,
  UnknownSymbolError,
} from './errors';
import { editDistance, normaliseSpelling } from './suggest';
import { BROKER_STYLES, type Instrument, type SymbolMapEntry } from './types';

/** Options of {@link createSymbolMapper}. */
export interface SymbolMapperOptions {
  /**
   * Extra or overriding rows merged over the built-in table, in order (e.g. from `loadSymbolMapFile`).
   * @default []
   */
  entries: readonly SymbolMapEntry[];
  /**
   * Broker style used by `toBroker`/`fromBroker` when no broker is passed: `generic` (the generic symbol),
   * `oanda`, `mt5`, a suffix style, or a style named in `entries`.
   * @default 'generic'
   */
  broker: string;
  /**
   * MetaTrader suffix styles: style name -> suffix appended to the `mt5` spelling (`EURUSD` -> `EURUSD.a`).
   * Replaces the default set when given.
   * @default { 'mt5-suffix-a': '.a', 'mt5-suffix-m': 'm', 'mt5-suffix-pro': '.pro' }
   */
  brokerSuffixes: Readonly<Record<string, string>>;
  /**
   * Let symbols that are in no table row but look like US tickers (`/^[A-Z]{1,5}([.-][A-Z])?$/`) pass through
   * as stocks with the same spelling for every provider and broker.
   * @default true
   */
  passThroughStocks: boolean;
  /**
   * Most suggestions an {@link UnknownSymbolError} carries (count).
   * @default 5
   */
  maxSuggestions: number;
}

/** Defaults of {@link SymbolMapperOptions}. */
export const SYMBOL_MAPPER_DEFAULTS: Readonly<SymbolMapperOptions> = Object.freeze({
  entries: Object.freeze([]),
  broker: BROKER_STYLES.generic,
  brokerSuffixes: Object.freeze({
    [BROKER_STYLES.mt5SuffixA]: '.a',
    [BROKER_STYLES.mt5SuffixM]: 'm',
    [BROKER_STYLES.mt5SuffixPro]: '.pro',
  }),
  passThroughStocks: true,
  maxSuggestions: 5,
});

/** Translates symbols between the generic, provider and broker spellings, both ways. */
export interface SymbolMapper {
  /** The instrument of a generic symbol; throws {@link UnknownSymbolError} (with suggestions) otherwise. */
  instrument(symbol: string): Instrument;
  /** True when `symbol` is a generic symbol the mapper knows (table or stock pass-through). */
  has(symbol: string): boolean;
  /** Provider spelling of a generic symbol; null when that provider does not carry it. Throws for unknown symbols. */
  toProvider(symbol: string, source: SourceName): string | null;
  /** Generic symbol of a provider spelling; null when the spelling is not known for that provider. */
  fromProvider(providerSymbol: string, source: SourceName): string | null;
  /** Broker spelling of a generic symbol (broker defaults to `options.broker`). */
  toBroker(symbol: string, broker?: string): string;
  /** Generic symbol of a broker spelling; throws {@link UnknownSymbolError} when unknown. */
  fromBroker(brokerSymbol: string, broker?: string): string;
  /** Any generic, alias, broker or provider spelling (case-insensitive) to the generic symbol, or throws. */
  resolve(anySymbol: string): string;
  /** Close generic symbols for a spelling, best first. */
  suggest(input: string): string[];
  /** Every table instrument (built-in merged with entries), sorted by symbol. */
  instruments(): readonly Instrument[];
  /** Every broker style this mapper speaks. */
  brokers(): readonly string[];
}

const STOCK_TICKER = /^[A-Z]{1,5}([.-][A-Z])?$/;
const COMPONENT = 'createSymbolMapper';
/** Marks a case-folded spelling shared by two instruments: resolve() refuses to guess between them. */
const AMBIGUOUS = '\u0000ambiguous';

interface Origin {
  /** Index in `entries`, or -1 for the built-in table. */
  entry: number;
}

function deepFreeze(inst: Instrument): Instrument {
  Object.freeze(inst.providers);
  Object.freeze(inst.brokers);
  if (inst.aliases) Object.freeze(inst.aliases);
  return Object.freeze(inst);
}

function mergeEntries(entries: readonly SymbolMapEntry[]): {
  table: Map<string, Instrument>;
  origin: Map<string, Origin>;
} {
  const table = new Map<string, Instrument>();
  const origin = new Map<string, Origin>();
  for (const inst of builtinInstruments()) {
    table.set(inst.symbol, inst);
    origin.set(inst.symbol, { entry: -1 });
  }
  entries.forEach((entry, index) => {
    const existing = table.get(entry.symbol);
    let inst: Instrument;
    if (existing) {
      inst = {
        ...existing,
        providers: { ...existing.providers },
        brokers: { ...existing.brokers },
        aliases: [...(existing.aliases ?? [])],
      };
    } else {
      const { assetClass, base, quote, priceMultiplier } = entry;
      if (
        assetClass === undefined ||
        base === undefined ||
        quote === undefined ||
        priceMultiplier === undefined
      ) {
        const field =
          assetClass === undefined
            ? 'assetClass'
            : base === undefined
              ? 'base'
              : quote === undefined
                ? 'quote'
                : 'priceMultiplier';
        throw new SymbolMapEntryError({
          index,
          field,
          message: `is required for a new instrument ("${entry.symbol}" is not in the built-in table)`,
        });
      }
      inst = {
        symbol: entry.symbol,
        assetClass,
        base,
        quote,
        priceMultiplier,
        providers: { replay: entry.symbol, synthetic: entry.symbol },
        brokers: {},
        aliases: [],
      };
    }
    if (entry.assetClass !== undefined) inst.assetClass = entry.assetClass;
    if (entry.base !== undefined) inst.base = entry.base;
    if (entry.quote !== undefined) inst.quote = entry.quote;
    if (entry.priceMultiplier !== undefined) inst.priceMultiplier = entry.priceMultiplier;
    if (entry.description !== undefined) inst.description = entry.description;
    for (const [source, spelling] of Object.entries(entry.providers ?? {})) {
      if (spelling === null) delete inst.providers[source as SourceName];
      else inst.providers[source as SourceName] = spelling;
    }
    // A replaced broker spelling stays resolvable: positions and configs written with it keep working.
    const replaced: string[] = [];
    for (const [broker, spelling] of Object.entries(entry.brokers ?? {})) {
      const before = inst.brokers[broker];
      if (before !== undefined && before !== spelling) replaced.push(before);
      inst.brokers[broker] = spelling;
    }
    inst.aliases = [...new Set([...(inst.aliases ?? []), ...replaced, ...(entry.aliases ?? [])])];
    table.set(inst.symbol, inst);
    origin.set(inst.symbol, { entry: index });
  });
  return { table, origin };
}

/**
 * Builds a mapper over the built-in table merged with `options.entries`. Throws {@link OptionsError} for bad
 * options and {@link SymbolMapEntryError} (code `SYMBOL_MAP_ENTRY_INVALID` or `SYMBOL_MAP_CONFLICT`) for bad rows.
 */
export function createSymbolMapper(options?: Partial<SymbolMapperOptions>): SymbolMapper {
  const opts = resolveOptions(COMPONENT, SYMBOL_MAPPER_DEFAULTS, options);
  assertNumberOption(COMPONENT, 'maxSuggestions', opts.maxSuggestions, 0, 100);
  if (typeof opts.passThroughStocks !== 'boolean') {
    throw new OptionsError(
      `${COMPONENT}: option "passThroughStocks" must be a boolean, got ${JSON.stringify(opts.passThroughStocks)}`,
    );
  }
  if (typeof opts.brokerSuffixes !== 'object' || opts.brokerSuffixes === null) {
    throw new OptionsError(
      `${COMPONENT}: option "brokerSuffixes" must be an object, got ${JSON.stringify(opts.brokerSuffixes)}`,
    );
  }
  for (const [style, suffix] of Object.entries(opts.brokerSuffixes)) {
    if (style === BROKER_STYLES.generic || style === BROKER_STYLES.oanda || style === BROKER_STYLES.mt5) {
      throw new OptionsError(
        `${COMPONENT}: option "brokerSuffixes" cannot redefine the built-in style "${style}"`,
      );
    }
    if (typeof suffix !== 'string' || suffix.length === 0) {
      throw new OptionsError(
        `${COMPONENT}: option "brokerSuffixes.${style}" must be a non-empty string, got ${JSON.stringify(suffix)}`,
      );
    }
  }
  if (!Array.isArray(opts.entries)) {
    throw new OptionsError(
      `${COMPONENT}: option "entries" must be an array, got ${JSON.stringify(opts.entries)}`,
    );
  }
  const entries = validateSymbolMapEntries(opts.entries);
  const suffixes = new Map(Object.entries(opts.brokerSuffixes));

  const { table, origin } = mergeEntries(entries);

  // Every instrument gets a spelling for every broker style, so toBroker/fromBroker round-trip everywhere.
  const brokerStyles = new Set<string>([BROKER_STYLES.oanda, BROKER_STYLES.mt5]);
  for (const inst of table.values()) for (const b of Object.keys(inst.brokers)) brokerStyles.add(b);
  for (const style of suffixes.keys()) brokerStyles.add(style);
  brokerStyles.delete(BROKER_STYLES.generic);
  for (const inst of table.values()) {
    inst.brokers.mt5 ??= inst.symbol;
    for (const style of brokerStyles) {
      const suffix = suffixes.get(style);
      inst.brokers[style] ??= suffix !== undefined ? inst.brokers.mt5 + suffix : inst.symbol;
    }
    deepFreeze(inst);
  }
  const allBrokers = Object.freeze([BROKER_STYLES.generic, ...[...brokerStyles].sort()]);
  if (typeof opts.broker !== 'string' || !allBrokers.includes(opts.broker)) {
    throw new OptionsError(
      `${COMPONENT}: option "broker" must be one of ${allBrokers.join(', ')}, got ${JSON.stringify(opts.broker)}`,
    );
  }

  // Exact reverse indexes per provider and per broker style; a spelling claimed by two instruments is a
  // conflict reported against the entry that introduced it.
  const providerIndex = new Map<string, Map<string, string>>();
  const brokerIndex = new Map<string, Map<string, string>>();
  const folded = new Map<string, string>();
  const conflict = (where: string, spelling: string, a: string, b: string): never => {
    // Every symbol of the table has an origin; -1 (built-in) is only the type's fallback.
    const entryOf = (symbol: string): number => origin.get(symbol)?.entry ?? -1;
    const culprit = entryOf(b) >= 0 ? b : a;
    throw new SymbolMapEntryError({
      index: entryOf(culprit),
      code: SYMBOL_MAPPER_ERROR_CODES.mapConflict,
      message: `${where} spelling "${spelling}" is claimed by both "${a}" and "${b}"`,
    });
  };
  const addExact = (
    index: Map<string, Map<string, string>>,
    key: string,
    spelling: string,
    symbol: string,
    where: string,
  ): void => {
    let m = index.get(key);
    if (!m) index.set(key, (m = new Map()));
    const prev = m.get(spelling);
    if (prev !== undefined && prev !== symbol) conflict(where, spelling, prev, symbol);
    m.set(spelling, symbol);
  };
  const addFolded = (spelling: string, symbol: string): void => {
    const key = spelling.toUpperCase();
    const prev = folded.get(key);
    folded.set(key, prev === undefined || prev === symbol ? symbol : AMBIGUOUS);
  };
  // Normalised spellings for suggestions: normalised key -> generic symbols.
  const suggestIndex = new Map<string, Set<string>>();
  const addSuggest = (spelling: string, symbol: string): void => {
    const key = normaliseSpelling(spelling);
    if (!key) return;
    let s = suggestIndex.get(key);
    if (!s) suggestIndex.set(key, (s = new Set()));
    s.add(symbol);
  };

  for (const inst of table.values()) {
    for (const [source, spelling] of Object.entries(inst.providers)) {
      addExact(providerIndex, source, spelling, inst.symbol, `provider ${source}`);
      addSuggest(spelling, inst.symbol);
    }
    for (const [broker, spelling] of Object.entries(inst.brokers)) {
      addExact(brokerIndex, broker, spelling, inst.symbol, `broker ${broker}`);
      addSuggest(spelling, inst.symbol);
    }
  }
  // Generic symbols win over any other spelling when folding, so they are added last and overwrite.
  for (const inst of table.values()) {
    for (const spelling of [
      ...Object.values(inst.providers),
      ...Object.values(inst.brokers),
      ...(inst.aliases ?? []),
    ]) {
      addFolded(spelling, inst.symbol);
    }
    for (const alias of inst.aliases ?? []) addSuggest(alias, inst.symbol);
    addSuggest(inst.symbol, inst.symbol);
  }
  for (const inst of table.values()) folded.set(inst.symbol.toUpperCase(), inst.symbol);

  const sorted = Object.freeze([...table.values()].sort((a, b) => a.symbol.localeCompare(b.symbol)));

  const isTicker = (s: string): boolean => opts.passThroughStocks && STOCK_TICKER.test(s);

  const stock = (symbol: string): Instrument => {
    const providers: Partial<Record<SourceName, string>> = {};
    for (const source of SOURCE_NAMES) providers[source] = symbol;
    const brokers: Record<string, string> = {};
    for (const b of brokerStyles) brokers[b] = symbol;
    return deepFreeze({
      symbol,
      assetClass: 'stock',
      base: symbol,
      quote: 'USD',
      priceMultiplier: 0.01,
      providers,
      brokers,
    });
  };

  const suggest = (input: string): string[] => {
    const n = normaliseSpelling(input);
    if (!n || opts.maxSuggestions === 0) return [];
    const scored = new Map<string, number>();
    const offer = (symbol: string, score: number): void => {
      const prev = scored.get(symbol);
      if (prev === undefined || score < prev) scored.set(symbol, score);
    };
    const limit = Math.max(1, Math.floor(n.length / 3));
    const letters = [...n].sort().join('');
    for (const [key, symbols] of suggestIndex) {
      const d = editDistance(n, key);
      if (d > limit) continue;
      // Among equally distant candidates prefer one with the very same letters: a swap is a likelier typo
      // than a wrong letter (`EURSUD` -> `EURUSD` before `EURAUD`).
      const score = d > 0 && [...key].sort().join('') === letters ? d - 0.5 : d;
      for (const s of symbols) offer(s, score);
    }
    // `USDEUR` for `EURUSD`: a pair typed the wrong way round.
    if (n.length === 6) {
      const swapped = suggestIndex.get(n.slice(3) + n.slice(0, 3));
      if (swapped) for (const s of swapped) offer(s, 1.5);
    }
    return [...scored.entries()]
      .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
      .slice(0, opts.maxSuggestions)
      .map(([s]) => s);
  };

  const instrument = (symbol: string): Instrument => {
    const inst = table.get(symbol);
    if (inst) return inst;
    if (isTicker(symbol)) return stock(symbol);
    throw new UnknownSymbolError(symbol, suggest(symbol));
  };

  const checkBroker = (broker: string): void => {
    if (!allBrokers.includes(broker)) throw new UnknownBrokerError(broker, [...allBrokers]);
  };

  const lookupBroker = (spelling: string, broker: string): string | undefined => {
    const exact = brokerIndex.get(broker)?.get(spelling);
    if (exact !== undefined) return exact;
    const upper = spelling.toUpperCase();
    for (const [s, sym] of brokerIndex.get(broker) ?? []) if (s.toUpperCase() === upper) return sym;
    return undefined;
  };

  return Object.freeze({
    instrument,
    has: (symbol: string) => table.has(symbol) || isTicker(symbol),
    toProvider(symbol: string, source: SourceName): string | null {
      return instrument(symbol).providers[source] ?? null;
    },
    fromProvider(providerSymbol: string, source: SourceName): string | null {
      const exact = providerIndex.get(source)?.get(providerSymbol);
      if (exact !== undefined) return exact;
      const upper = providerSymbol.toUpperCase();
      for (const [s, sym] of providerIndex.get(source) ?? []) if (s.toUpperCase() === upper) return sym;
      return isTicker(providerSymbol) ? providerSymbol : null;
    },
    toBroker(symbol: string, broker: string = opts.broker): string {
      checkBroker(broker);
      const inst = instrument(symbol);
      return broker === BROKER_STYLES.generic ? inst.symbol : (inst.brokers[broker] ?? inst.symbol);
    },
    fromBroker(brokerSymbol: string, broker: string = opts.broker): string {
      checkBroker(broker);
      if (broker === BROKER_STYLES.generic) return instrument(brokerSymbol).symbol;
      const found = lookupBroker(brokerSymbol, broker);
      if (found !== undefined) return found;
      // A suffix style also accepts the plain spelling, and a pass-through stock with or without the suffix.
      const suffix = suffixes.get(broker);
      let plain = brokerSymbol;
      if (suffix !== undefined && brokerSymbol.toUpperCase().endsWith(suffix.toUpperCase())) {
        plain = brokerSymbol.slice(0, brokerSymbol.length - suffix.length);
      }
      if (suffix !== undefined) {
        const viaMt5 = lookupBroker(plain, BROKER_STYLES.mt5);
        if (viaMt5 !== undefined) return viaMt5;
      }
      if (isTicker(plain) && !table.has(plain)) return plain;
      throw new UnknownSymbolError(brokerSymbol, suggest(brokerSymbol), `broker ${broker}`);
    },
    resolve(anySymbol: string): string {
      if (table.has(anySymbol)) return anySymbol;
      const hit = folded.get(anySymbol.toUpperCase());
      if (hit !== undefined && hit !== AMBIGUOUS) return hit;
      if (hit === undefined && isTicker(anySymbol)) return anySymbol;
      throw new UnknownSymbolError(
        anySymbol,
        suggest(anySymbol),
        hit === AMBIGUOUS ? 'ambiguous spelling' : undefined,
      );
    },
    suggest,
    instruments: () => sorted,
    brokers: () => allBrokers,
  });
}
