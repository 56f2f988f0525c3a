// Public entry of @pipeline/symbol-mapper: explicit named re-exports only.
export {
  type Instrument,
  type SymbolMapEntry,
  type AssetClass,
  type BrokerStyle,
  ASSET_CLASSES,
  BROKER_STYLES,
  isAssetClass,
} from './types';
export {
  type SymbolMapper,
  type SymbolMapperOptions,
  SYMBOL_MAPPER_DEFAULTS,
  createSymbolMapper,
} from './mapper';
export { builtinInstruments } from './builtin';
export { loadSymbolMapFile, validateSymbolMapEntries } from './entries';
export { editDistance, normaliseSpelling } from './suggest';
export {
  SYMBOL_MAPPER_ERROR_CODES,
  type SymbolMapperErrorCode,
  UnknownSymbolError,
  UnknownBrokerError,
  SymbolMapFileError,
  SymbolMapEntryError,
  isUnknownSymbolError,
  isUnknownBrokerError,
  isSymbolMapError,
} from './errors';
// The core names this package's API takes (`toProvider(symbol, source)`), so a user needs only
// @pipeline/symbol-mapper in package.json.
export { SOURCE_NAMES, isSourceName, isPipelineError, type SourceName } from '@pipeline/core';
