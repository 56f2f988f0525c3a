import { TIMEFRAME_MS, type Bar, type Timeframe } from '@pipeline/core';

/** Yahoo v8 chart body for `bars` (all of one symbol and timeframe), in Yahoo's real shape. */
export function yahooChartBody(
  providerSymbol: string,
  interval: string,
  bars: readonly Bar[],
  now: number,
): unknown {
  const last = bars[bars.length - 1];
  const meta = {
    currency: 'USD',
    symbol: providerSymbol,
    exchangeName: 'SIM',
    instrumentType: 'EQUITY',
    regularMarketTime: Math.floor(
      (last ? Math.min(now, last.ts + TIMEFRAME_MS[last.timeframe]) : now) / 1000,
    ),
    gmtoffset: 0,
    timezone: 'UTC',
    exchangeTimezoneName: 'UTC',
    regularMarketPrice: last?.close ?? null,
    dataGranularity: interval,
    range: '',
  };
  if (bars.length === 0) return { chart: { result: [{ meta, indicators: { quote: [{}] } }], error: null } };
  return {
    chart: {
      result: [
        {
          meta,
          timestamp: bars.map((b) => Math.floor(b.ts / 1000)),
          indicators: {
            quote: [
              {
                open: bars.map((b) => b.open),
                high: bars.map((b) => b.high),
                low: bars.map((b) => b.low),
                close: bars.map((b) => b.close),
                volume: bars.map((b) => b.volume),
              },
            ],
          },
        },
      ],
      error: null,
    },
  };
}

/** Yahoo's chart error body (`Not Found`, `Bad Request`). */
export function yahooChartError(code: string, description: string): unknown {
  return { chart: { result: null, error: { code, description } } };
}

/** Yahoo v7 quote body: one result per symbol that has a last bar; unknown ones are left out, as Yahoo does. */
export function yahooQuoteBody(
  quotes: readonly { providerSymbol: string; last: Bar; now: number }[],
): unknown {
  return {
    quoteResponse: {
      result: quotes.map(({ providerSymbol, last, now }) => ({
        symbol: providerSymbol,
        quoteType: 'EQUITY',
        currency: 'USD',
        marketState: 'REGULAR',
        regularMarketPrice: last.close,
        regularMarketTime: Math.floor(Math.min(now, last.ts + TIMEFRAME_MS[last.timeframe]) / 1000),
        regularMarketDayHigh: last.high,
        regularMarketDayLow: last.low,
        regularMarketVolume: last.volume,
      })),
      error: null,
    },
  };
}

const pad = (n: number): string => String(n).padStart(2, '0');
function utcText(ts: number, dateOnly: boolean): string {
  const d = new Date(ts);
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return dateOnly
    ? date
    : `${date} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/**
 * Alpha Vantage TIME_SERIES_* / FX_* body in UTC, newest first. Intraday keys are bar START times,
 * as today's API stamps them; `stamp: 'end'` writes the archived (2017-2020) convention.
 */
export function alphaVantageSeriesBody(
  fn: string,
  interval: string | null,
  label: string,
  bars: readonly Bar[],
  timeframe: Timeframe,
  stamp: 'start' | 'end' = 'start',
): unknown {
  const fx = fn.startsWith('FX_');
  const daily = timeframe === '1d';
  const series: Record<string, Record<string, string>> = {};
  for (const b of [...bars].sort((x, y) => y.ts - x.ts)) {
    const row: Record<string, string> = {
      '1. open': String(b.open),
      '2. high': String(b.high),
      '3. low': String(b.low),
      '4. close': String(b.close),
    };
    if (!fx) row['5. volume'] = String(b.volume);
    series[utcText(daily || stamp === 'start' ? b.ts : b.ts + TIMEFRAME_MS[timeframe], daily)] = row;
  }
  const key = fx
    ? `Time Series FX (${daily ? 'Daily' : interval})`
    : `Time Series (${daily ? 'Daily' : interval})`;
  return {
    'Meta Data': {
      '1. Information': `${fn} (simulated)`,
      '2. Symbol': label,
      '3. Last Refreshed': bars.length ? utcText(bars[bars.length - 1]?.ts ?? 0, false) : '',
      '4. Time Zone': 'UTC',
    },
    [key]: series,
  };
}
