import { createHash } from 'node:crypto';
import { ManualClock, type Bar, type Timeframe } from '@pipeline/core';
import { createSyntheticFetcher } from './fetcher';

// Bit-for-bit output of the synthetic source over a polling scenario (every timeframe it is asked in
// production and the odd ones, batch and single answers, history, unknown symbols, a clock that
// steps by uneven amounts across minute and hour boundaries). The digest was taken from the
// implementation before the hot-path rework (per-symbol feed, final-bar memo, one clock read per
// batch), so any change to a price, a flag or a field order fails here.
const T0 = Date.UTC(2024, 2, 5, 10, 57, 12) + 345;
const GOLDEN = '40c25792b20f7b9860292c803580adfe1070169a4228d2511f86824086df3b72';

function line(b: Bar): string {
  return JSON.stringify(b);
}

async function scenario(): Promise<string> {
  const clock = new ManualClock(T0);
  const f = createSyntheticFetcher({ clock, seed: 3, symbols: { EURUSD: 1.1, XAUUSD: 2000 } });
  const strict = createSyntheticFetcher({ clock, seed: 3, defaultStartPrice: null });
  const hash = createHash('sha256');
  const symbols = ['EURUSD', 'XAUUSD', 'S1', 'S2', 'EURUSD', 'S3'];
  const timeframes: Timeframe[] = ['1m', '5m', '1s', '1h', '15m', '1d'];
  for (let step = 0; step < 260; step++) {
    clock.set(T0 + step * 1_337 + (step % 7) * 211);
    const tf = timeframes[step % timeframes.length] ?? '1m';
    const many = await f.fetchLatestMany({ symbols, timeframe: step % 3 === 0 ? tf : '1m', limit: 3 });
    for (const [symbol, bars] of many) {
      hash.update(symbol);
      if (Array.isArray(bars)) for (const b of bars) hash.update(line(b));
      else hash.update('error');
    }
    const one = await f.fetchLatest({ symbol: 'S2', timeframe: step % 5 === 0 ? '5m' : '1m', limit: 4 });
    for (const b of one) hash.update(line(b));
    const refused = await strict.fetchLatestMany({ symbols: ['EURUSD', 'NOPE'], timeframe: '1m', limit: 2 });
    for (const [symbol, bars] of refused)
      hash.update(symbol + (Array.isArray(bars) ? bars.map(line).join() : `${bars.kind}`));
  }
  const hist = await f.fetchHistory({
    symbol: 'S1',
    timeframe: '1m',
    from: T0 - 86_400_000,
    to: T0 + 400_000,
  });
  for (const b of hist) hash.update(line(b));
  hash.update(JSON.stringify(f.stats()));
  return hash.digest('hex');
}

describe('synthetic fetcher output', () => {
  it('is bit for bit what it was before the hot-path rework', async () => {
    expect(await scenario()).toBe(GOLDEN);
  });
});
