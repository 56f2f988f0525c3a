// Real parts for the stage unit tests: a test config, the validator, the indicators, the signal
// book, an in-process hot cache and a SQLite history store in memory, around scripted sources.
import { ManualClock, type Bar } from '@pipeline/core';
import { createMemoryHotCache } from '@pipeline/redis-kb';
import { createSqliteHistoryStore } from '@pipeline/sqlite-store';
import { captureLogger } from '@pipeline/test-utils';
import { createScriptedFetcher } from '../../test/scripted-fetcher';
import { testConfig } from '../../test/harness';
import { type BarCachePort, type SourceSlot } from '../ports';
import { createSymbolStates } from '../state/symbol-state';
import { createIndicatorFeatures } from '../strategy/features';
import { createDefaultStrategy } from '../strategy/scanner';
import { createSignalBook } from '../strategy/signals';
import {
  createBreakerFromConfig,
  createMetricsFromConfig,
  createValidatorFromConfig,
} from '../wiring/wiring';
import { createIngest, type LiveGap } from './ingest';
import { createSinks } from './sinks';

/** A hot cache that can be switched down: writes reject and health says so (an outage). */
export function outageCache(): BarCachePort & { down: boolean } {
  const inner = createMemoryHotCache({ maxBars: 5000 });
  const cache = {
    kind: 'memory' as const,
    down: false,
    async writeBars(bars: Parameters<BarCachePort['writeBars']>[0]) {
      if (cache.down) throw new Error('cache down');
      return inner.writeBars(bars);
    },
    latestBars: inner.latestBars.bind(inner),
    setFeatures: inner.setFeatures.bind(inner),
    setSignal: inner.setSignal.bind(inner),
    health: () => ({ status: cache.down ? ('down' as const) : ('ready' as const) }),
    close: () => inner.close(),
  };
  return cache;
}

export function stageFixture(env: Record<string, string> = {}) {
  const clock = new ManualClock(Date.UTC(2024, 0, 3, 12, 0, 0));
  const config = testConfig({ SQLITE_PATH: ':memory:', ...env });
  const log = captureLogger();
  const metrics = createMetricsFromConfig(clock, undefined, false);
  const fetchers = config.activeSources.map((s, i) => createScriptedFetcher(s, clock, { seed: i + 3 }));
  const sources: SourceSlot[] = fetchers.map((f) => ({ name: f.source, fetcher: f }));
  const breaker = createBreakerFromConfig(config, clock);
  const store = createSqliteHistoryStore({ path: ':memory:', mode: 'inline', scheduler: clock });
  const cache = outageCache();
  const states = createSymbolStates({
    symbols: config.symbols,
    toBroker: (s) => s,
    staleAfterMs: config.staleAfterMs,
  });
  const features = createIndicatorFeatures();
  const signals = createSignalBook({
    strategy: createDefaultStrategy(),
    clock,
    metrics,
    symbols: config.symbols,
    staleAfterMs: config.staleAfterMs,
    publish: true,
  });
  const gaps: LiveGap[] = [];
  const validator = createValidatorFromConfig(config, clock);
  const ingest = createIngest({
    timeframe: config.timeframe,
    validator,
    features,
    signals,
    onGap: (g) => gaps.push(g),
  });
  const sinks = createSinks({
    store,
    cache,
    symbols: config.symbols,
    timeframe: config.timeframe,
    maxBarsCache: config.maxBarsCache,
    log,
  });
  const close = async () => {
    await store.close();
    await cache.close();
    breaker.close();
  };
  return {
    clock,
    config,
    log,
    metrics,
    fetchers,
    sources,
    breaker,
    validator,
    store,
    cache,
    states,
    features,
    signals,
    gaps,
    ingest,
    sinks,
    close,
  };
}

/** `n` final EURUSD 1m bars from `from`, one minute apart (flat prices: the stages under test move them). */
export function flatBars(from: number, n: number, symbol = 'EURUSD'): Bar[] {
  return Array.from({ length: n }, (_, i) => ({
    symbol,
    timeframe: '1m',
    ts: from + i * 60_000,
    open: 1.1,
    high: 1.2,
    low: 1,
    close: 1.15,
    volume: 0,
    source: 'synthetic',
    final: true,
    quality: 1,
  }));
}
