// The whole service from a configuration: wiring, sidecar and HTTP app, with one shutdown.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Scheduler, systemClock } from '@pipeline/core';
import { type FastifyInstance } from 'fastify';
import { buildApp } from '../http/api';
import { type SidecarConfig } from './config';
import { createIndicatorFeatures } from '../strategy/features';
import { silentLogger, type Logger } from './logger';
import { type Strategy } from '../strategy/scanner';
import { createSidecar, type Sidecar, type SidecarDeps } from '../sidecar';
import { type BootstrapProgress } from '../pipeline/bootstrap';
import { createPolygonLiveStream, createSources } from './sources';
import { type ClusterMirrorCache } from '../cluster/stage';
import { createClusterFromConfig, createPgHistoryFromConfig } from '../cluster/wiring';
import { registerClusterRoutes } from '../cluster/routes';
import {
  createBreakerFromConfig,
  createCacheFromConfig,
  createMapperFromConfig,
  createMetricsFromConfig,
  createStoreFromConfig,
  createSymbolPort,
  createValidatorFromConfig,
} from './wiring';

export interface ServiceOptions {
  /** @default systemClock */
  scheduler?: Scheduler;
  /** @default silentLogger */
  logger?: Logger;
  /** @default createDefaultStrategy() */
  strategy?: Strategy;
  /** Reported in /health. @default '0.0.0' */
  version?: string;
  /** Replace any wired dependency (tests, benchmarks). @default {} */
  overrides?: Partial<SidecarDeps>;
}

export interface Service {
  sidecar: Sidecar;
  app: FastifyInstance;
  deps: SidecarDeps;
  /** Listens on config.host:config.port; resolves with the address. */
  listen(): Promise<string>;
  /** Stops accepting requests, stops the loop, flushes and closes everything. */
  close(): Promise<void>;
}

/** Builds every dependency from the configuration and returns the service, not yet started. */
export function createService(config: SidecarConfig, options: ServiceOptions = {}): Service {
  const clock = options.scheduler ?? systemClock;
  const log = options.logger ?? silentLogger;
  if (config.sqlitePath !== ':memory:' && !config.historyUrl)
    mkdirSync(dirname(config.sqlitePath), { recursive: true });
  const mapper = createMapperFromConfig(config);
  const validator = createValidatorFromConfig(config, clock);
  const o = options.overrides ?? {};
  const cache = o.cache ?? createCacheFromConfig(config, clock);
  let sources = o.sources ?? createSources(config, mapper, clock, log);
  // Cluster mode (CLUSTER_NAME): coordinator and shared provider budgets in Redis (cluster/wiring.ts).
  const clustered =
    o.cluster === undefined
      ? createClusterFromConfig(config, cache as unknown as ClusterMirrorCache, sources, log)
      : null;
  if (clustered) sources = clustered.sources;
  const cluster = o.cluster ?? clustered?.cluster;
  const deps: SidecarDeps = {
    sources,
    breaker: o.breaker ?? createBreakerFromConfig(config, clock),
    cache,
    store: o.store ?? createPgHistoryFromConfig(config, clock) ?? createStoreFromConfig(config, clock),
    features: o.features ?? createIndicatorFeatures({ timeframe: config.timeframe }),
    validator: o.validator ?? validator,
    symbols: o.symbols ?? createSymbolPort(mapper, config.broker),
    metrics: o.metrics ?? createMetricsFromConfig(clock, validator),
    scheduler: clock,
    logger: log,
    ...(options.strategy ? { strategy: options.strategy } : {}),
    ...(o.stream !== undefined
      ? { stream: o.stream }
      : (() => {
          const stream = createPolygonLiveStream(config, mapper, clock, log);
          return stream ? { stream } : {};
        })()),
    version: options.version ?? '0.0.0',
    closers: o.closers ?? [],
    ...(cluster ? { cluster } : {}),
  };
  const sidecar = createSidecar(config, deps);
  const app = buildApp(sidecar, {
    logger: log,
    ...(config.apiToken ? { apiToken: config.apiToken } : {}),
    stream: {
      ringSize: config.streamReplaySize,
      maxQueue: config.streamMaxQueue,
      maxBackfillBars: config.streamBackfillMaxBars,
    },
  });
  registerClusterRoutes(app, sidecar);
  // Store flush failures and bootstrap progress for the alert rules (deploy/prometheus/alerts.yml),
  // from the numbers /health reports: the store's stats() and the last bootstrap progress event.
  let bootstrap: BootstrapProgress | null = null;
  const offProgress = sidecar.onBootstrapProgress((p) => {
    bootstrap = p;
  });
  const healthGauges = deps.metrics.onScrape(() => ({
    ...(deps.store.isClosed ? {} : { storeFlushFailures: deps.store.stats().failedFlushes }),
    bootstrap: bootstrap && {
      chunksPlanned: bootstrap.chunksPlanned,
      chunksDone: bootstrap.chunksDone,
      chunksFailed: bootstrap.failedChunks,
      done: bootstrap.done,
    },
  }));
  let closing: Promise<void> | undefined;
  return {
    sidecar,
    app,
    deps,
    listen: () => app.listen({ port: config.port, host: config.host }),
    close() {
      closing ??= (async () => {
        offProgress();
        healthGauges.dispose();
        try {
          await app.close();
        } finally {
          await sidecar.stop();
        }
      })();
      return closing;
    },
  };
}
