import { PipelineError, isPipelineError } from '@pipeline/core';

/** Error codes of @pipeline/symbol-mapper. */
export const SYMBOL_MAPPER_ERROR_CODES = {
  unknownSymbol: 'SYMBOL_UNKNOWN',
  unknownBroker: 'SYMBOL_BROKER_UNKNOWN',
  mapFile: 'SYMBOL_MAP_FILE_INVALID',
  mapEntry: 'SYMBOL_MAP_ENTRY_INVALID',
  mapConflict: 'SYMBOL_MAP_CONFLICT',
} as const;
export type SymbolMapperErrorCode =
  (typeof SYMBOL_MAPPER_ERROR_CODES)[keyof typeof SYMBOL_MAPPER_ERROR_CODES];

/** A symbol that no table row (nor the US-ticker pass-through) knows. */
export class UnknownSymbolError extends PipelineError {
  /** The spelling that was asked for, as given. */
  readonly symbol: string;
  /** Close generic symbols, best first (may be empty). */
  readonly suggestions: string[];

  constructor(symbol: string, suggestions: string[], context?: string) {
    const hint =
      suggestions.length > 0 ? `; did you mean ${suggestions.map((s) => `"${s}"`).join(', ')}?` : '';
    super(
      SYMBOL_MAPPER_ERROR_CODES.unknownSymbol,
      `unknown symbol ${JSON.stringify(symbol)}${context ? ` (${context})` : ''}${hint}`,
    );
    this.symbol = symbol;
    this.suggestions = suggestions;
  }
}

/** A broker style that is neither built in, nor a configured suffix style, nor used by any entry. */
export class UnknownBrokerError extends PipelineError {
  readonly broker: string;
  readonly known: string[];

  constructor(broker: string, known: string[]) {
    super(
      SYMBOL_MAPPER_ERROR_CODES.unknownBroker,
      `unknown broker style ${JSON.stringify(broker)}; known: ${known.join(', ')}`,
    );
    this.broker = broker;
    this.known = known;
  }
}

/** A symbol map file that cannot be read or is not JSON of the expected shape. */
export class SymbolMapFileError extends PipelineError {
  readonly file: string;

  constructor(file: string, message: string, cause?: unknown) {
    super(SYMBOL_MAPPER_ERROR_CODES.mapFile, `symbol map file ${file}: ${message}`, { cause });
    this.file = file;
  }
}

/** One bad row of a symbol map (from a file or from the `entries` option). */
export class SymbolMapEntryError extends PipelineError {
  /** The file the row came from, when it came from a file. */
  readonly file: string | undefined;
  /** Zero-based index of the bad row. */
  readonly index: number;
  /** The offending field, when one field is to blame. */
  readonly field: string | undefined;

  constructor(init: {
    file?: string;
    index: number;
    field?: string;
    message: string;
    code?: SymbolMapperErrorCode;
  }) {
    const where = `${init.file ? `symbol map file ${init.file}` : 'symbol map entries'}, row ${init.index}`;
    super(
      init.code ?? SYMBOL_MAPPER_ERROR_CODES.mapEntry,
      `${where}${init.field ? `, field "${init.field}"` : ''}: ${init.message}`,
    );
    this.file = init.file;
    this.index = init.index;
    this.field = init.field;
  }
}

export function isUnknownSymbolError(value: unknown): value is UnknownSymbolError {
  return isPipelineError(value, SYMBOL_MAPPER_ERROR_CODES.unknownSymbol);
}

export function isUnknownBrokerError(value: unknown): value is UnknownBrokerError {
  return isPipelineError(value, SYMBOL_MAPPER_ERROR_CODES.unknownBroker);
}

/** True for a file-level or row-level symbol map error (including conflicts). */
export function isSymbolMapError(value: unknown): value is SymbolMapFileError | SymbolMapEntryError {
  return (
    isPipelineError(value, SYMBOL_MAPPER_ERROR_CODES.mapFile) ||
    isPipelineError(value, SYMBOL_MAPPER_ERROR_CODES.mapEntry) ||
    isPipelineError(value, SYMBOL_MAPPER_ERROR_CODES.mapConflict)
  );
}
