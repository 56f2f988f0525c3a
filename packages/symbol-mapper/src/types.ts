import { type SourceName } from '@pipeline/core';

/** Asset classes an instrument can belong to. */
export const ASSET_CLASSES = {
  fx: 'fx',
  metal: 'metal',
  index: 'index',
  crypto: 'crypto',
  stock: 'stock',
} as const;
export type AssetClass = (typeof ASSET_CLASSES)[keyof typeof ASSET_CLASSES];

export function isAssetClass(value: unknown): value is AssetClass {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ASSET_CLASSES, value);
}

/**
 * Broker symbol styles built in. `generic` speaks the generic symbol itself (the default when no broker is
 * configured). The MetaTrader suffix styles are the `mt5` spelling plus a suffix; more suffix styles can be
 * added with the `brokerSuffixes` option.
 */
export const BROKER_STYLES = {
  generic: 'generic',
  oanda: 'oanda',
  mt5: 'mt5',
  mt5SuffixA: 'mt5-suffix-a',
  mt5SuffixM: 'mt5-suffix-m',
  mt5SuffixPro: 'mt5-suffix-pro',
} as const;
export type BrokerStyle = (typeof BROKER_STYLES)[keyof typeof BROKER_STYLES];

/** One tradeable instrument and every spelling of it. */
export interface Instrument {
  /** Generic symbol, the pipeline's own spelling, e.g. `EURUSD`, `NAS100`, `AAPL`. */
  symbol: string;
  assetClass: AssetClass;
  /** Base currency (FX, metals, crypto), or the index/stock name itself. */
  base: string;
  /** Quote currency: the currency prices are expressed in. */
  quote: string;
  /**
   * Size of one pip/point in price units: 0.0001 for most FX, 0.01 for JPY-quoted FX, 0.01 for gold,
   * 0.001 for silver, 1 for an index point, 0.01 (one cent) for stocks and most crypto. Multiply a pip count
   * by it to get a price distance; divide a price distance by it to get pips.
   */
  priceMultiplier: number;
  description?: string;
  /** Provider spellings; a missing key means that provider does not carry the instrument. */
  providers: Partial<Record<SourceName, string>>;
  /** Broker spellings keyed by broker style (`oanda`, `mt5`, `mt5-suffix-a`, ...). */
  brokers: Record<string, string>;
  /** Other spellings accepted by `resolve()` (e.g. `US100`, `DE30`); never produced by the mapper. */
  aliases?: string[];
}

/**
 * A row of the symbol map: a new instrument, or an override merged field by field over an existing one
 * (then only `symbol` is required). `providers` values of `null` remove a provider spelling.
 */
export interface SymbolMapEntry {
  symbol: string;
  assetClass?: AssetClass;
  base?: string;
  quote?: string;
  priceMultiplier?: number;
  description?: string;
  providers?: Partial<Record<SourceName, string | null>>;
  brokers?: Record<string, string>;
  aliases?: string[];
}
