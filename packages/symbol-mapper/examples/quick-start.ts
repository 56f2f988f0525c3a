// The README quick start, kept compiling by `tsc -p .` (examples/ is in the package's tsconfig).
import { createSymbolMapper, isUnknownSymbolError } from '@pipeline/symbol-mapper';

const mapper = createSymbolMapper({ broker: 'oanda' });

console.log(mapper.toProvider('EURUSD', 'yahoo')); // 'EURUSD=X'
console.log(mapper.toProvider('NAS100', 'alphavantage')); // null: Alpha Vantage has no index quotes
console.log(mapper.fromProvider('C:XAUUSD', 'polygon')); // 'XAUUSD'
console.log(mapper.toBroker('NAS100')); // 'NAS100_USD' (the default broker style is oanda here)
console.log(mapper.fromBroker('EURUSD.a', 'mt5-suffix-a')); // 'EURUSD'
console.log(mapper.resolve('eur/usd')); // 'EURUSD': any known spelling, any case
console.log(mapper.instrument('USDJPY').priceMultiplier); // 0.01: one pip

try {
  mapper.instrument('EURSUD');
} catch (err) {
  if (isUnknownSymbolError(err)) console.log(err.suggestions); // ['EURUSD', ...]
}
