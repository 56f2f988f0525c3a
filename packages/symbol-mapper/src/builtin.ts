import { type Instrument } from './types';

/*
 * The built-in table. Spelling choices (see README "Broker styles"):
 * - OANDA v20 instrument names: `EUR_USD`, `XAU_USD`, `NAS100_USD`, `DE30_EUR` (OANDA's DAX CFD keeps the
 *   historical DE30 name; `DE40_EUR` is accepted as an alias), `BTC_USD`.
 * - MetaTrader plain (`mt5`): FX, metals and crypto as the generic symbol; indices in the IC Markets /
 *   Pepperstone convention `USTEC`, `US30`, `US500`, `DE40`, `UK100`, `JP225`. Other common spellings
 *   (`NAS100`, `US100`, `GER40`, `DE30`, `SPX500`, ...) are aliases accepted by `resolve()`.
 * - MetaTrader suffix styles derive from `mt5` when the mapper is built, so they are not stored here.
 */

// Conventional priority of the eight majors: the higher-priority currency is the base (EURUSD, not USDEUR).
const MAJORS = ['EUR', 'GBP', 'AUD', 'NZD', 'USD', 'CAD', 'CHF', 'JPY'] as const;

const CURRENCY_NAMES: Record<(typeof MAJORS)[number], string> = {
  EUR: 'Euro',
  GBP: 'British pound',
  AUD: 'Australian dollar',
  NZD: 'New Zealand dollar',
  USD: 'US dollar',
  CAD: 'Canadian dollar',
  CHF: 'Swiss franc',
  JPY: 'Japanese yen',
};

function pair(
  base: string,
  quote: string,
  assetClass: 'fx' | 'metal' | 'crypto',
  priceMultiplier: number,
  description: string,
  overrides: { yahoo?: string; polygonPrefix?: string } = {},
): Instrument {
  const symbol = base + quote;
  const slash = `${base}/${quote}`;
  const polygonPrefix = overrides.polygonPrefix ?? (assetClass === 'crypto' ? 'X:' : 'C:');
  return {
    symbol,
    assetClass,
    base,
    quote,
    priceMultiplier,
    description,
    providers: {
      yahoo: overrides.yahoo ?? (assetClass === 'crypto' ? `${base}-${quote}` : `${symbol}=X`),
      alphavantage: slash,
      twelvedata: slash,
      polygon: polygonPrefix + symbol,
      replay: symbol,
      synthetic: symbol,
    },
    brokers: { oanda: `${base}_${quote}`, mt5: symbol },
  };
}

function fxPairs(): Instrument[] {
  const out: Instrument[] = [];
  for (const [i, base] of MAJORS.entries()) {
    for (const quote of MAJORS.slice(i + 1)) {
      out.push(
        pair(
          base,
          quote,
          'fx',
          quote === 'JPY' ? 0.01 : 0.0001,
          `${CURRENCY_NAMES[base]} / ${CURRENCY_NAMES[quote]}`,
        ),
      );
    }
  }
  return out;
}

interface IndexRow {
  symbol: string;
  quote: string;
  description: string;
  yahoo: string;
  twelvedata: string | null;
  polygon: string | null;
  oanda: string;
  mt5: string;
  aliases: string[];
}

// Alpha Vantage has no index quotes; Twelve Data and Polygon spellings are given only where verified
// (Polygon's index feed is US indices), null elsewhere so that the fallback tries another source.
const INDICES: IndexRow[] = [
  {
    symbol: 'NAS100',
    quote: 'USD',
    description: 'Nasdaq 100',
    yahoo: '^NDX',
    twelvedata: 'NDX',
    polygon: 'I:NDX',
    oanda: 'NAS100_USD',
    mt5: 'USTEC',
    aliases: ['US100', 'NDX100', 'USTECH'],
  },
  {
    symbol: 'US30',
    quote: 'USD',
    description: 'Dow Jones Industrial Average',
    yahoo: '^DJI',
    twelvedata: 'DJI',
    polygon: 'I:DJI',
    oanda: 'US30_USD',
    mt5: 'US30',
    aliases: ['DJ30', 'WS30', 'DOW30'],
  },
  {
    symbol: 'SPX500',
    quote: 'USD',
    description: 'S&P 500',
    yahoo: '^GSPC',
    twelvedata: 'SPX',
    polygon: 'I:SPX',
    oanda: 'SPX500_USD',
    mt5: 'US500',
    aliases: ['SP500', 'US500', 'USSPX500'],
  },
  {
    symbol: 'GER40',
    quote: 'EUR',
    description: 'DAX 40',
    yahoo: '^GDAXI',
    twelvedata: 'DAX',
    polygon: null,
    oanda: 'DE30_EUR',
    mt5: 'DE40',
    aliases: ['DE30', 'GER30', 'DAX40', 'DE40_EUR'],
  },
  {
    symbol: 'UK100',
    quote: 'GBP',
    description: 'FTSE 100',
    yahoo: '^FTSE',
    twelvedata: null,
    polygon: null,
    oanda: 'UK100_GBP',
    mt5: 'UK100',
    aliases: ['FTSE100'],
  },
  {
    symbol: 'JP225',
    quote: 'JPY',
    description: 'Nikkei 225',
    yahoo: '^N225',
    twelvedata: null,
    polygon: null,
    oanda: 'JP225_USD',
    mt5: 'JP225',
    aliases: ['JPN225', 'NIKKEI225'],
  },
];

function indices(): Instrument[] {
  return INDICES.map((row) => {
    const providers: Instrument['providers'] = {
      yahoo: row.yahoo,
      replay: row.symbol,
      synthetic: row.symbol,
    };
    if (row.twelvedata) providers.twelvedata = row.twelvedata;
    if (row.polygon) providers.polygon = row.polygon;
    return {
      symbol: row.symbol,
      assetClass: 'index',
      base: row.symbol,
      quote: row.quote,
      priceMultiplier: 1,
      description: row.description,
      providers,
      brokers: { oanda: row.oanda, mt5: row.mt5 },
      aliases: row.aliases,
    };
  });
}

/** A fresh copy of the built-in instruments (callers may mutate it). */
export function builtinInstruments(): Instrument[] {
  return [
    ...fxPairs(),
    pair('XAU', 'USD', 'metal', 0.01, 'Gold spot', { yahoo: 'GC=F' }),
    pair('XAG', 'USD', 'metal', 0.001, 'Silver spot', { yahoo: 'SI=F' }),
    ...indices(),
    pair('BTC', 'USD', 'crypto', 0.01, 'Bitcoin'),
    pair('ETH', 'USD', 'crypto', 0.01, 'Ether'),
    pair('SOL', 'USD', 'crypto', 0.01, 'Solana'),
    pair('XRP', 'USD', 'crypto', 0.0001, 'XRP'),
    pair('LTC', 'USD', 'crypto', 0.01, 'Litecoin'),
  ];
}
