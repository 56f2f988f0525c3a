// Builds a sidecar for tests from the real libraries (in-process or Redis hot cache, a real SQLite
// file, the breaker registry, the symbol mapper, the feature indicators) around scripted sources.
import { ManualClock, type Scheduler } from '@pipeline/core';
import { tempSqlitePath } from '@pipeline/test-utils';
import { loadConfig, type SidecarConfig } from '../src/wiring/config';
import { createIndicatorFeatures } from '../src/strategy/features';
import { type SourceSlot } from '../src/ports';
import { createSidecar, type Sidecar, type SidecarDeps } from '../src/sidecar';
import {
  createBreakerFromConfig,
  createCacheFromConfig,
  createMapperFromConfig,
  createMetricsFromConfig,
  createStoreFromConfig,
  createSymbolPort,
  createValidatorFromConfig,
} from '../src/wiring/wiring';
import { createScriptedFetcher, type ScriptedFetcher } from './scripted-fetcher';

export interface Harness {
  sidecar: Sidecar;
  clock: ManualClock;
  config: SidecarConfig;
  fetchers: ScriptedFetcher[];
  deps: SidecarDeps;
}

export function testConfig(env: Record<string, string> = {}): SidecarConfig {
  return loadConfig({
    SYMBOLS: 'EURUSD,XAUUSD',
    SOURCES: 'yahoo,synthetic',
    BOOTSTRAP_DAYS: '0',
    SQLITE_PATH: tempSqlitePath('sidecar'),
    ...env,
  });
}

export function createHarness(
  env: Record<string, string> = {},
  overrides: Partial<SidecarDeps> = {},
  clock = new ManualClock(Date.UTC(2024, 0, 3, 12, 0, 0)),
): Harness {
  const config = testConfig(env);
  const scheduler: Scheduler = clock;
  const fetchers = config.activeSources.map((s, i) => createScriptedFetcher(s, clock, { seed: i + 3 }));
  const sources: SourceSlot[] = fetchers.map((f) => ({ name: f.source, fetcher: f }));
  const validator = createValidatorFromConfig(config, scheduler);
  const deps: SidecarDeps = {
    sources,
    breaker: createBreakerFromConfig(config, scheduler),
    cache: createCacheFromConfig(config, scheduler),
    store: createStoreFromConfig(config, scheduler),
    features: createIndicatorFeatures({ timeframe: config.timeframe }),
    validator,
    symbols: createSymbolPort(createMapperFromConfig(config), config.broker),
    metrics: createMetricsFromConfig(scheduler, validator, false),
    scheduler,
    ...overrides,
  };
  return { sidecar: createSidecar(config, deps), clock, config, fetchers, deps };
}

/** Lets promise callbacks run (the manual clock fires timers synchronously). */
export const settle = () => new Promise((r) => setImmediate(r));
