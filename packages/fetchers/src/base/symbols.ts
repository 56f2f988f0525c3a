import { FetchError, type SourceName } from '@pipeline/core';
import { isUnknownSymbolError, type SymbolMapper } from '@pipeline/symbol-mapper';

/**
 * The provider's spelling of a generic symbol. A symbol the mapper does not know, or one the
 * provider does not carry (mapper answers null), is `symbol_not_found`: the pipeline tries the next
 * source without counting a breaker failure.
 */
export function toProviderSymbol(mapper: SymbolMapper, symbol: string, source: SourceName): string {
  let provider: string | null;
  try {
    provider = mapper.toProvider(symbol, source);
  } catch (err) {
    if (isUnknownSymbolError(err)) {
      throw new FetchError({
        kind: 'symbol_not_found',
        source,
        symbol,
        message: `unknown symbol ${JSON.stringify(symbol)}`,
        cause: err,
      });
    }
    throw err;
  }
  if (provider === null) {
    throw new FetchError({
      kind: 'symbol_not_found',
      source,
      symbol,
      message: `${symbol} is not carried by ${source}`,
    });
  }
  return provider;
}
