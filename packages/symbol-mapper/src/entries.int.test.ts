import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPipelineError } from '@pipeline/core';
import { cleanupTempDirs, tempDir } from '@pipeline/test-utils';
import { isSymbolMapError, type SymbolMapEntryError } from './errors';
import { loadSymbolMapFile } from './entries';
import { createSymbolMapper } from './mapper';

afterAll(() => cleanupTempDirs());

function write(name: string, content: string): string {
  const path = join(tempDir('symbol-map-'), name);
  writeFileSync(path, content);
  return path;
}

function thrown(fn: () => unknown): Error & { code: string } {
  try {
    fn();
  } catch (err) {
    if (isPipelineError(err)) return err;
    throw err;
  }
  throw new Error('expected a PipelineError');
}

describe('loadSymbolMapFile', () => {
  it('loads an array of rows and the mapper merges them over the built-in table', () => {
    const path = write(
      'map.json',
      JSON.stringify([
        { symbol: 'NAS100', brokers: { mt5: 'NAS100' }, aliases: ['NQ100'] },
        {
          symbol: 'EURSEK',
          assetClass: 'fx',
          base: 'EUR',
          quote: 'SEK',
          priceMultiplier: 0.0001,
          providers: { yahoo: 'EURSEK=X' },
        },
      ]),
    );
    const mapper = createSymbolMapper({ entries: loadSymbolMapFile(path) });
    expect(mapper.toBroker('NAS100', 'mt5')).toBe('NAS100');
    expect(mapper.toBroker('NAS100', 'mt5-suffix-a')).toBe('NAS100.a');
    expect(mapper.fromBroker('NAS100.a', 'mt5-suffix-a')).toBe('NAS100');
    expect(mapper.resolve('NQ100')).toBe('NAS100');
    expect(mapper.resolve('USTEC')).toBe('NAS100'); // the replaced spelling stays an alias
    expect(mapper.fromProvider('EURSEK=X', 'yahoo')).toBe('EURSEK');
  });

  it('accepts {"entries": [...]}', () => {
    const path = write(
      'wrapped.json',
      JSON.stringify({ entries: [{ symbol: 'EURUSD', description: 'Fiber' }] }),
    );
    expect(loadSymbolMapFile(path)).toEqual([{ symbol: 'EURUSD', description: 'Fiber' }]);
  });

  it('names a missing file', () => {
    const path = join(tempDir(), 'missing.json');
    const err = thrown(() => loadSymbolMapFile(path));
    expect(err.code).toBe('SYMBOL_MAP_FILE_INVALID');
    expect(err.message).toBe(`symbol map file ${path}: cannot be read (ENOENT)`);
    expect(isSymbolMapError(err)).toBe(true);
  });

  it('names a file that is not JSON', () => {
    const path = write('broken.json', '[{"symbol": "EURUSD",}]');
    const err = thrown(() => loadSymbolMapFile(path));
    expect(err.code).toBe('SYMBOL_MAP_FILE_INVALID');
    expect(err.message).toContain(`symbol map file ${path}: is not valid JSON`);
  });

  it('names a file of the wrong shape', () => {
    const path = write('object.json', '{"EURUSD": "EUR_USD"}');
    expect(thrown(() => loadSymbolMapFile(path)).message).toBe(
      `symbol map file ${path}: must hold an array of entries or an object {"entries": [...]}`,
    );
  });

  it.each([
    [[{ symbol: 'eurusd' }], 0, 'symbol', 'must be an upper-case symbol like "EURUSD", got "eurusd"'],
    [
      [{ symbol: 'EURUSD' }, { symbol: 'X', assetClass: 'bond' }],
      1,
      'assetClass',
      'must be one of fx, metal, index, crypto, stock, got "bond"',
    ],
    [[{ symbol: 'X', priceMultiplier: 0 }], 0, 'priceMultiplier', 'must be a finite number > 0, got 0'],
    [
      [{ symbol: 'X', providers: { bloomberg: 'X' } }],
      0,
      'providers.bloomberg',
      'is not a known source name',
    ],
    [
      [{ symbol: 'X', providers: { yahoo: 3 } }],
      0,
      'providers.yahoo',
      'must be a non-empty string or null, got 3',
    ],
    [[{ symbol: 'X', brokers: { oanda: '' } }], 0, 'brokers.oanda', 'must be a non-empty string, got ""'],
    [[{ symbol: 'X', aliases: 'Y' }], 0, 'aliases', 'must be an array of non-empty strings, got "Y"'],
    [[{ symbol: 'X', quote: ' USD' }], 0, 'quote', 'must be a non-empty string, got " USD"'],
    [[{ symbol: 'X', provider: {} }], 0, 'provider', 'unknown field; known fields: symbol, assetClass'],
    [[{ symbol: 'EURUSD' }, 'GBPUSD'], 1, undefined, 'expected an object, got "GBPUSD"'],
  ])('rejects bad rows: %j', (rows, index, field, message) => {
    const path = write('rows.json', JSON.stringify(rows));
    const err = thrown(() => loadSymbolMapFile(path)) as unknown as SymbolMapEntryError;
    expect(err.code).toBe('SYMBOL_MAP_ENTRY_INVALID');
    expect(err.file).toBe(path);
    expect(err.index).toBe(index);
    expect(err.field).toBe(field);
    expect(err.message).toContain(
      `symbol map file ${path}, row ${index}${field ? `, field "${field}"` : ''}: ${message}`,
    );
  });
});
