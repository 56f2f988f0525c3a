import { type Bar, type Timeframe } from '@pipeline/core';
import { contractBar } from '@pipeline/test-utils';

/** A deterministic, valid bar; prices vary with `i` so replacements are visible (the store contract's bar). */
export const makeBar = contractBar;

export function makeBars(
  n: number,
  overrides: Partial<Bar> = {},
  timeframe: Timeframe = '1m',
  start?: number,
): Bar[] {
  return Array.from({ length: n }, (_, i) => makeBar(i, overrides, timeframe, start));
}
