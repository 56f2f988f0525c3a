import { type Timeframe } from '@pipeline/core';

// Kept apart from parse.ts so that the `./testing` entry (which needs only this table) does not pull
// the parser's runtime imports into its bundle.

/** AV `interval` values of the native intraday timeframes. */
export const AV_INTERVALS: Readonly<Partial<Record<Timeframe, string>>> = Object.freeze({
  '1m': '1min',
  '5m': '5min',
  '15m': '15min',
  '30m': '30min',
  '1h': '60min',
});
