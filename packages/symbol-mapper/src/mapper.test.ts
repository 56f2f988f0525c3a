import { OptionsError, SOURCE_NAMES, isPipelineError } from '@pipeline/core';
import { builtinInstruments } from './builtin';
import { isUnknownBrokerError, isUnknownSymbolError, type UnknownSymbolError } from './errors';
import { SYMBOL_MAPPER_DEFAULTS, createSymbolMapper } from './mapper';

const mapper = createSymbolMapper();
const BROKERS = mapper.brokers();

function unknown(fn: () => unknown): UnknownSymbolError {
  try {
    fn();
  } catch (err) {
    if (isUnknownSymbolError(err)) return err;
    throw err;
  }
  throw new Error('expected an UnknownSymbolError');
}

describe('built-in table', () => {
  const table = builtinInstruments();

  it('covers the 28 FX pairs of the eight majors, metals, indices and crypto', () => {
    const fx = table.filter((i) => i.assetClass === 'fx').map((i) => i.symbol);
    expect(fx).toHaveLength(28);
    const majors = ['EUR', 'USD', 'GBP', 'JPY', 'CHF', 'AUD', 'NZD', 'CAD'];
    for (const a of majors) {
      for (const b of majors) {
        if (a === b) continue;
        // exactly one direction of every pair is in the table
        expect(Number(fx.includes(a + b)) + Number(fx.includes(b + a))).toBe(1);
      }
    }
    const symbols = table.map((i) => i.symbol);
    for (const s of [
      'XAUUSD',
      'XAGUSD',
      'NAS100',
      'US30',
      'SPX500',
      'GER40',
      'UK100',
      'JP225',
      'BTCUSD',
      'ETHUSD',
      'SOLUSD',
      'XRPUSD',
      'LTCUSD',
    ]) {
      expect(symbols).toContain(s);
    }
    expect(new Set(symbols).size).toBe(symbols.length);
  });

  it('gives JPY-quoted pairs a 0.01 pip and other FX 0.0001', () => {
    expect(mapper.instrument('USDJPY').priceMultiplier).toBe(0.01);
    expect(mapper.instrument('EURUSD').priceMultiplier).toBe(0.0001);
    expect(mapper.instrument('NAS100').priceMultiplier).toBe(1);
    expect(mapper.instrument('XAUUSD')).toMatchObject({ assetClass: 'metal', base: 'XAU', quote: 'USD' });
  });

  it('returns frozen instruments', () => {
    const inst = mapper.instrument('EURUSD');
    expect(Object.isFrozen(inst)).toBe(true);
    expect(Object.isFrozen(inst.providers)).toBe(true);
  });
});

describe('provider spellings', () => {
  it.each([
    ['EURUSD', 'yahoo', 'EURUSD=X'],
    ['XAUUSD', 'yahoo', 'GC=F'],
    ['XAGUSD', 'yahoo', 'SI=F'],
    ['NAS100', 'yahoo', '^NDX'],
    ['US30', 'yahoo', '^DJI'],
    ['SPX500', 'yahoo', '^GSPC'],
    ['GER40', 'yahoo', '^GDAXI'],
    ['UK100', 'yahoo', '^FTSE'],
    ['JP225', 'yahoo', '^N225'],
    ['BTCUSD', 'yahoo', 'BTC-USD'],
    ['AAPL', 'yahoo', 'AAPL'],
    ['EURUSD', 'alphavantage', 'EUR/USD'],
    ['XAUUSD', 'alphavantage', 'XAU/USD'],
    ['BTCUSD', 'alphavantage', 'BTC/USD'],
    ['NAS100', 'alphavantage', null],
    ['AAPL', 'alphavantage', 'AAPL'],
    ['EURUSD', 'twelvedata', 'EUR/USD'],
    ['NAS100', 'twelvedata', 'NDX'],
    ['GER40', 'twelvedata', 'DAX'],
    ['UK100', 'twelvedata', null],
    ['EURUSD', 'polygon', 'C:EURUSD'],
    ['XAUUSD', 'polygon', 'C:XAUUSD'],
    ['NAS100', 'polygon', 'I:NDX'],
    ['SPX500', 'polygon', 'I:SPX'],
    ['BTCUSD', 'polygon', 'X:BTCUSD'],
    ['GER40', 'polygon', null],
    ['EURUSD', 'replay', 'EURUSD'],
  ] as const)('%s on %s is %s', (symbol, source, expected) => {
    expect(mapper.toProvider(symbol, source)).toBe(expected);
    if (expected !== null) expect(mapper.fromProvider(expected, source)).toBe(symbol);
  });

  it('round-trips every built-in instrument through every provider', () => {
    let checked = 0;
    for (const inst of mapper.instruments()) {
      for (const source of SOURCE_NAMES) {
        const spelling = mapper.toProvider(inst.symbol, source);
        if (spelling === null) continue;
        expect(mapper.fromProvider(spelling, source)).toBe(inst.symbol);
        expect(mapper.resolve(spelling)).toBe(inst.symbol);
        checked++;
      }
    }
    // 41 instruments x 6 sources, minus indices absent from alphavantage (6), twelvedata (2) and polygon (3)
    expect(mapper.instruments()).toHaveLength(41);
    expect(checked).toBe(41 * 6 - 11);
  });

  it('answers null for spellings a provider does not know, and passes tickers through', () => {
    expect(mapper.fromProvider('EURUSD=X', 'polygon')).toBeNull();
    expect(mapper.fromProvider('NOT A SYMBOL', 'yahoo')).toBeNull();
    expect(mapper.fromProvider('MSFT', 'polygon')).toBe('MSFT');
    expect(mapper.fromProvider('eurusd=x', 'yahoo')).toBe('EURUSD');
  });
});

describe('broker spellings', () => {
  it.each([
    ['EURUSD', 'oanda', 'EUR_USD'],
    ['XAUUSD', 'oanda', 'XAU_USD'],
    ['NAS100', 'oanda', 'NAS100_USD'],
    ['US30', 'oanda', 'US30_USD'],
    ['SPX500', 'oanda', 'SPX500_USD'],
    ['GER40', 'oanda', 'DE30_EUR'],
    ['UK100', 'oanda', 'UK100_GBP'],
    ['JP225', 'oanda', 'JP225_USD'],
    ['BTCUSD', 'oanda', 'BTC_USD'],
    ['EURUSD', 'mt5', 'EURUSD'],
    ['NAS100', 'mt5', 'USTEC'],
    ['SPX500', 'mt5', 'US500'],
    ['GER40', 'mt5', 'DE40'],
    ['EURUSD', 'mt5-suffix-a', 'EURUSD.a'],
    ['EURUSD', 'mt5-suffix-m', 'EURUSDm'],
    ['EURUSD', 'mt5-suffix-pro', 'EURUSD.pro'],
    ['NAS100', 'mt5-suffix-pro', 'USTEC.pro'],
    ['EURUSD', 'generic', 'EURUSD'],
  ])('%s at %s is %s', (symbol, broker, expected) => {
    expect(mapper.toBroker(symbol, broker)).toBe(expected);
    expect(mapper.fromBroker(expected, broker)).toBe(symbol);
  });

  it('round-trips every built-in instrument through every broker style', () => {
    expect(BROKERS).toEqual(['generic', 'mt5', 'mt5-suffix-a', 'mt5-suffix-m', 'mt5-suffix-pro', 'oanda']);
    for (const inst of mapper.instruments()) {
      for (const broker of BROKERS) {
        const spelling = mapper.toBroker(inst.symbol, broker);
        expect(mapper.fromBroker(spelling, broker)).toBe(inst.symbol);
        expect(mapper.resolve(spelling)).toBe(inst.symbol);
      }
    }
  });

  it('uses options.broker as the default style', () => {
    const oanda = createSymbolMapper({ broker: 'oanda' });
    expect(oanda.toBroker('NAS100')).toBe('NAS100_USD');
    expect(oanda.fromBroker('XAU_USD')).toBe('XAUUSD');
    expect(mapper.toBroker('NAS100')).toBe('NAS100');
  });

  it('accepts the plain spelling in a suffix style and stocks with or without the suffix', () => {
    expect(mapper.fromBroker('EURUSD', 'mt5-suffix-a')).toBe('EURUSD');
    expect(mapper.fromBroker('AAPL.a', 'mt5-suffix-a')).toBe('AAPL');
    expect(mapper.toBroker('AAPL', 'mt5-suffix-a')).toBe('AAPL');
    expect(mapper.toBroker('AAPL', 'oanda')).toBe('AAPL');
  });

  it('supports custom suffix styles', () => {
    const raw = createSymbolMapper({ brokerSuffixes: { 'icm-raw': '.r' }, broker: 'icm-raw' });
    expect(raw.toBroker('GBPJPY')).toBe('GBPJPY.r');
    expect(raw.fromBroker('USTEC.r')).toBe('NAS100');
    expect(raw.brokers()).not.toContain('mt5-suffix-a');
  });

  it('rejects unknown broker styles with a typed error', () => {
    expect(() => mapper.toBroker('EURUSD', 'ig')).toThrow(/unknown broker style "ig"/);
    let caught: unknown;
    try {
      mapper.fromBroker('EUR_USD', 'ig');
    } catch (err) {
      caught = err;
    }
    expect(isUnknownBrokerError(caught)).toBe(true);
  });

  it('throws UnknownSymbolError for an unknown broker spelling', () => {
    const err = unknown(() => mapper.fromBroker('EUR_USS', 'oanda'));
    expect(err.code).toBe('SYMBOL_UNKNOWN');
    expect(err.suggestions[0]).toBe('EURUSD');
    expect(err.message).toContain('broker oanda');
  });
});

describe('resolve', () => {
  it.each([
    ['EURUSD', 'EURUSD'],
    ['EUR_USD', 'EURUSD'],
    ['eur_usd', 'EURUSD'],
    ['EUR/USD', 'EURUSD'],
    ['EURUSD=X', 'EURUSD'],
    ['C:EURUSD', 'EURUSD'],
    ['EURUSD.pro', 'EURUSD'],
    ['EURUSDm', 'EURUSD'],
    ['USTEC', 'NAS100'],
    ['US100', 'NAS100'],
    ['DE40_EUR', 'GER40'],
    ['GER30', 'GER40'],
    ['^ndx', 'NAS100'],
    ['GC=F', 'XAUUSD'],
    ['BTC-USD', 'BTCUSD'],
    ['TSLA', 'TSLA'],
    ['BRK.B', 'BRK.B'],
  ])('%s -> %s', (input, expected) => {
    expect(mapper.resolve(input)).toBe(expected);
  });

  it('does not pass lower-case words through as tickers', () => {
    expect(unknown(() => mapper.resolve('eurusdx')).suggestions).toContain('EURUSD');
  });
});

describe('unknown symbols and suggestions', () => {
  it.each([
    ['EURSUD', 'EURUSD'],
    ['eur/usd', 'EURUSD'],
    ['EURUSDD', 'EURUSD'],
    ['USDEUR', 'EURUSD'],
    ['NAS10', 'NAS100'],
    ['XAUUSDT', 'XAUUSD'],
    ['BTCUSDT', 'BTCUSD'],
    ['GER-40', 'GER40'],
  ])('instrument(%s) suggests %s first', (input, best) => {
    const err = unknown(() => mapper.instrument(input));
    expect(err.code).toBe('SYMBOL_UNKNOWN');
    expect(err.symbol).toBe(input);
    expect(err.suggestions[0]).toBe(best);
    expect(err.message).toContain(`"${best}"`);
    expect(isPipelineError(err, 'SYMBOL_UNKNOWN')).toBe(true);
  });

  it('suggests nothing for garbage and honours maxSuggestions', () => {
    expect(unknown(() => mapper.instrument('QQQQQQQQQQ!')).suggestions).toEqual([]);
    expect(createSymbolMapper({ maxSuggestions: 1 }).suggest('EURJPX')).toHaveLength(1);
    expect(createSymbolMapper({ maxSuggestions: 0 }).suggest('EURSUD')).toEqual([]);
  });

  it('toProvider of an unknown symbol throws rather than answering null', () => {
    expect(() => mapper.toProvider('EURSUD', 'yahoo')).toThrow(/did you mean "EURUSD"/);
  });

  it('turns off the ticker pass-through when asked', () => {
    const strict = createSymbolMapper({ passThroughStocks: false });
    expect(strict.has('AAPL')).toBe(false);
    expect(() => strict.instrument('AAPL')).toThrow(/unknown symbol "AAPL"/);
    expect(strict.fromProvider('AAPL', 'yahoo')).toBeNull();
  });

  it('describes pass-through stocks', () => {
    expect(mapper.instrument('AAPL')).toMatchObject({
      symbol: 'AAPL',
      assetClass: 'stock',
      quote: 'USD',
      priceMultiplier: 0.01,
      providers: { yahoo: 'AAPL', polygon: 'AAPL', alphavantage: 'AAPL', twelvedata: 'AAPL' },
    });
  });
});

describe('entries option', () => {
  it('adds new instruments and overrides built-in ones field by field', () => {
    const m = createSymbolMapper({
      entries: [
        {
          symbol: 'USDMXN',
          assetClass: 'fx',
          base: 'USD',
          quote: 'MXN',
          priceMultiplier: 0.0001,
          providers: { yahoo: 'MXN=X', polygon: 'C:USDMXN' },
          brokers: { oanda: 'USD_MXN' },
        },
        { symbol: 'GER40', brokers: { oanda: 'DE40_EUR' }, providers: { twelvedata: null } },
      ],
    });
    expect(m.toProvider('USDMXN', 'yahoo')).toBe('MXN=X');
    expect(m.fromProvider('MXN=X', 'yahoo')).toBe('USDMXN');
    expect(m.toBroker('USDMXN', 'oanda')).toBe('USD_MXN');
    expect(m.toBroker('USDMXN', 'mt5-suffix-a')).toBe('USDMXN.a');
    expect(m.toProvider('USDMXN', 'twelvedata')).toBeNull();
    expect(m.toBroker('GER40', 'oanda')).toBe('DE40_EUR');
    expect(m.fromBroker('DE40_EUR', 'oanda')).toBe('GER40');
    expect(m.toProvider('GER40', 'twelvedata')).toBeNull();
    expect(m.toProvider('GER40', 'yahoo')).toBe('^GDAXI');
    // the default mapper is untouched
    expect(mapper.toBroker('GER40', 'oanda')).toBe('DE30_EUR');
  });

  it('adds broker styles named by entries, falling back to the generic symbol', () => {
    const m = createSymbolMapper({ entries: [{ symbol: 'EURUSD', brokers: { ig: 'CS.D.EURUSD.MINI.IP' } }] });
    expect(m.brokers()).toContain('ig');
    expect(m.toBroker('EURUSD', 'ig')).toBe('CS.D.EURUSD.MINI.IP');
    expect(m.fromBroker('CS.D.EURUSD.MINI.IP', 'ig')).toBe('EURUSD');
    expect(m.toBroker('GBPUSD', 'ig')).toBe('GBPUSD');
  });

  it('requires the full description of a new instrument', () => {
    expect(() =>
      createSymbolMapper({ entries: [{ symbol: 'USDMXN', assetClass: 'fx', base: 'USD', quote: 'MXN' }] }),
    ).toThrow('symbol map entries, row 0, field "priceMultiplier": is required for a new instrument');
  });

  it('rejects a spelling claimed by two instruments, naming the row', () => {
    let caught: unknown;
    try {
      createSymbolMapper({
        entries: [
          { symbol: 'EURUSD', description: 'fine' },
          {
            symbol: 'NDXM',
            assetClass: 'index',
            base: 'NDXM',
            quote: 'USD',
            priceMultiplier: 1,
            providers: { yahoo: '^NDX' },
          },
        ],
      });
    } catch (err) {
      caught = err;
    }
    expect(isPipelineError(caught, 'SYMBOL_MAP_CONFLICT')).toBe(true);
    expect((caught as Error).message).toBe(
      'symbol map entries, row 1: provider yahoo spelling "^NDX" is claimed by both "NAS100" and "NDXM"',
    );
  });
});

describe('options', () => {
  it('has frozen defaults', () => {
    expect(Object.isFrozen(SYMBOL_MAPPER_DEFAULTS)).toBe(true);
    expect(SYMBOL_MAPPER_DEFAULTS.broker).toBe('generic');
  });

  it.each([
    [{ brokr: 'oanda' }, /unknown option "brokr"/],
    [{ broker: 'ig' }, /option "broker" must be one of generic, mt5, .*got "ig"/],
    [{ maxSuggestions: -1 }, /"maxSuggestions" must be a number in \[0, 100\], got -1/],
    [{ passThroughStocks: 'yes' }, /"passThroughStocks" must be a boolean, got "yes"/],
    [{ brokerSuffixes: { oanda: '.x' } }, /cannot redefine the built-in style "oanda"/],
    [{ brokerSuffixes: { x: '' } }, /"brokerSuffixes.x" must be a non-empty string, got ""/],
    [{ entries: 'file.json' }, /"entries" must be an array, got "file.json"/],
  ])('rejects %j', (options, message) => {
    let caught: unknown;
    try {
      createSymbolMapper(options as never);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(OptionsError);
    expect((caught as Error).message).toMatch(message);
  });
});
