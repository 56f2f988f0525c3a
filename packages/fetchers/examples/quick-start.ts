// Quick start: run with `npx tsx examples/quick-start.ts` (no network, no API key).
// A synthetic market is served in Yahoo's own format on 127.0.0.1 and read by the real Yahoo
// fetcher; drop `baseUrl` to read the real Yahoo Finance instead.
import { isFetchError } from '@pipeline/core';
import { createSyntheticFetcher, createYahooFetcher } from '@pipeline/fetchers';
import { startProviderServer } from '@pipeline/fetchers/testing';

const market = createSyntheticFetcher({ seed: 42, symbols: { EURUSD: 1.08, XAUUSD: 2350 } });
const server = await startProviderServer({ fetcher: market });
const yahoo = createYahooFetcher({ baseUrl: server.url, poolSize: 4, timeoutMs: 5_000 });

try {
  // The last 5 one-minute bars; the newest is still forming (final: false).
  const bars = await yahoo.fetchLatest({ symbol: 'EURUSD', timeframe: '1m', limit: 5 });
  console.table(
    bars.map((b) => ({
      time: new Date(b.ts).toISOString(),
      open: b.open,
      high: b.high,
      low: b.low,
      close: b.close,
      final: b.final,
    })),
  );

  // History is split into as many requests as Yahoo's limits need (1m: 7 days per request).
  const now = Date.now();
  const history = await yahoo.fetchHistory({
    symbol: 'XAUUSD',
    timeframe: '1h',
    from: now - 3 * 86_400_000,
    to: now,
    onProgress: (p) => console.log(`request ${p.requestsDone}/${p.requestsPlanned}, ${p.bars} bars`),
  });
  console.log(
    `${history.length} hourly XAUUSD bars; rate budget left:`,
    yahoo.budget(),
    'counters:',
    yahoo.stats(),
  );

  // Failures are FetchErrors whose kind tells the pipeline what to do next.
  await yahoo.fetchLatest({ symbol: 'EURUSD', timeframe: '1s' });
} catch (err) {
  if (isFetchError(err))
    console.log(
      `${err.code} (${err.kind}): retryable=${err.retryable}, try next source=${err.tryNextSource}`,
    );
  else throw err;
} finally {
  await yahoo.close();
  await server.close();
}
