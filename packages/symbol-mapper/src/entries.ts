import { readFileSync } from 'node:fs';
import { isRecord, isSourceName } from '@pipeline/core';
import { SymbolMapEntryError, SymbolMapFileError } from './errors';
import { ASSET_CLASSES, isAssetClass, type SymbolMapEntry } from './types';

const ENTRY_KEYS = new Set([
  'symbol',
  'assetClass',
  'base',
  'quote',
  'priceMultiplier',
  'description',
  'providers',
  'brokers',
  'aliases',
]);

/** Generic symbols: letters and digits, optionally with `.`, `-` or `_` inside (e.g. `BRK.B`). */
const GENERIC_SYMBOL = /^[A-Z0-9][A-Z0-9._-]{0,31}$/;

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0 && value.trim() === value;
}

/**
 * Checks the shape of symbol map rows and returns them typed. Throws a {@link SymbolMapEntryError} naming the
 * row index, the field and the bad value (and `file` when given). Whether a row that adds a new instrument
 * carries every required field is checked by `createSymbolMapper`, which knows the built-in table.
 */
export function validateSymbolMapEntries(rows: unknown, file?: string): SymbolMapEntry[] {
  if (!Array.isArray(rows)) {
    throw new SymbolMapEntryError({
      file,
      index: -1,
      message: `expected an array of entries, got ${typeof rows}`,
    });
  }
  return rows.map((row, index) => {
    const fail = (field: string | undefined, message: string): never => {
      throw new SymbolMapEntryError({ file, index, field, message });
    };
    if (!isRecord(row)) return fail(undefined, `expected an object, got ${JSON.stringify(row)}`);
    for (const key of Object.keys(row)) {
      if (!ENTRY_KEYS.has(key)) fail(key, `unknown field; known fields: ${[...ENTRY_KEYS].join(', ')}`);
    }
    const { symbol, assetClass, base, quote, priceMultiplier, description, providers, brokers, aliases } =
      row;
    if (typeof symbol !== 'string' || !GENERIC_SYMBOL.test(symbol)) {
      fail('symbol', `must be an upper-case symbol like "EURUSD", got ${JSON.stringify(symbol)}`);
    }
    if (assetClass !== undefined && !isAssetClass(assetClass)) {
      fail(
        'assetClass',
        `must be one of ${Object.values(ASSET_CLASSES).join(', ')}, got ${JSON.stringify(assetClass)}`,
      );
    }
    for (const [name, value] of [
      ['base', base],
      ['quote', quote],
      ['description', description],
    ] as const) {
      if (value !== undefined && !nonEmptyString(value))
        fail(name, `must be a non-empty string, got ${JSON.stringify(value)}`);
    }
    if (
      priceMultiplier !== undefined &&
      (typeof priceMultiplier !== 'number' || !Number.isFinite(priceMultiplier) || priceMultiplier <= 0)
    ) {
      fail('priceMultiplier', `must be a finite number > 0, got ${JSON.stringify(priceMultiplier)}`);
    }
    if (providers !== undefined) {
      if (!isRecord(providers)) fail('providers', `must be an object, got ${JSON.stringify(providers)}`);
      for (const [source, spelling] of Object.entries(providers as object)) {
        if (!isSourceName(source)) fail(`providers.${source}`, 'is not a known source name');
        if (spelling !== null && !nonEmptyString(spelling)) {
          fail(`providers.${source}`, `must be a non-empty string or null, got ${JSON.stringify(spelling)}`);
        }
      }
    }
    if (brokers !== undefined) {
      if (!isRecord(brokers)) fail('brokers', `must be an object, got ${JSON.stringify(brokers)}`);
      for (const [broker, spelling] of Object.entries(brokers as object)) {
        if (!nonEmptyString(spelling))
          fail(`brokers.${broker}`, `must be a non-empty string, got ${JSON.stringify(spelling)}`);
      }
    }
    if (aliases !== undefined && (!Array.isArray(aliases) || !aliases.every(nonEmptyString))) {
      fail('aliases', `must be an array of non-empty strings, got ${JSON.stringify(aliases)}`);
    }
    return row as unknown as SymbolMapEntry;
  });
}

/**
 * Reads extra symbol mappings from a JSON file: either an array of {@link SymbolMapEntry} rows or an object
 * `{ "entries": [...] }`. Synchronous, because it runs once at start-up. Throws {@link SymbolMapFileError}
 * for unreadable or non-JSON files and {@link SymbolMapEntryError} (naming the file and row) for bad rows.
 */
export function loadSymbolMapFile(path: string): SymbolMapEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SymbolMapFileError(
      path,
      `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      err,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SymbolMapFileError(path, `is not valid JSON (${(err as Error).message})`, err);
  }
  const rows = isRecord(parsed) && 'entries' in parsed ? parsed.entries : parsed;
  if (!Array.isArray(rows)) {
    throw new SymbolMapFileError(path, 'must hold an array of entries or an object {"entries": [...]}');
  }
  return validateSymbolMapEntries(rows, path);
}
