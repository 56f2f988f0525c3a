import { type Timeframe } from '@pipeline/core';

// Kept apart from parse.ts so that the `./testing` entry (which needs only this table) does not pull
// the parser's runtime imports into its bundle.

/** Yahoo `interval` values for the timeframes it serves natively. */
export const YAHOO_INTERVALS: Readonly<Partial<Record<Timeframe, string>>> = Object.freeze({
  '1m': '1m',
  '5m': '5m',
  '15m': '15m',
  '30m': '30m',
  '1h': '60m',
  '1d': '1d',
});
