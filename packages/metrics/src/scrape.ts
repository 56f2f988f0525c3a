// Scrape-time gauges: data age, pending writes, breaker state, rate budgets and bootstrap progress are
// computed when the registry is read; so are the scrape-time counters (store flush failures, failed
// bootstrap chunks), whose owners keep the running total, from the providers registered with onScrape. prom-client collects all metrics of a
// scrape concurrently, so they share one provider round (the in-flight promise is reused and dropped
// once it settles); a failing provider is counted and reported, the scrape goes on.
import { Counter, Gauge, type Registry } from 'prom-client';
import { Emitter, redactText, type Clock, type Disposable } from '@pipeline/core';
import { MetricsError } from './errors';
import { type Labeller } from './labels';
import { BREAKER_STATE_LABELS, RATE_WINDOWS, type MetricKey } from './names';
import { type BootstrapSnapshot, type ScrapeProvider, type ScrapeSnapshot } from './types';

const BREAKER_STATES: ReadonlySet<string> = new Set(BREAKER_STATE_LABELS);

export interface ScrapeGauges {
  onScrape: (provider: ScrapeProvider) => Disposable;
  onScrapeError: (listener: (error: MetricsError) => void) => Disposable;
  /** Drops every provider and listener (on close()). */
  clear: () => void;
}

export function createScrapeGauges(
  registry: Registry,
  names: Readonly<Record<MetricKey, string>>,
  labels: Labeller,
  clock: Clock,
  owned: string[],
): ScrapeGauges {
  const registers = [registry];
  const { constantLabels, constantNames } = labels;
  const providers = new Set<ScrapeProvider>();
  const errors = new Emitter<MetricsError>('metrics onScrapeError');
  let inFlight: Promise<ScrapeSnapshot> | undefined;
  const scrapeErrors = new Counter({
    name: names.scrapeErrors,
    help: 'Scrape-time providers that threw or rejected.',
    labelNames: [...constantNames],
    registers,
  });
  owned.push(names.scrapeErrors);

  async function runProviders(): Promise<ScrapeSnapshot> {
    const merged: Required<ScrapeSnapshot> = {
      lastBarTs: {},
      pendingWrites: 0,
      breakers: {},
      rateBudgets: {},
      stale: {},
      refreshIntervals: {},
      storeFlushFailures: 0,
      bootstrap: null,
    };
    let sawPending = false;
    let sawFlushFailures = false;
    for (const provider of [...providers]) {
      let part: ScrapeSnapshot;
      try {
        part = await provider();
      } catch (cause) {
        scrapeErrors.inc(constantLabels);
        errors.emit(
          new MetricsError(
            'METRICS_PROVIDER_FAILED',
            `scrape provider failed: ${redactText(String(cause))}`,
            {
              metrics: [
                names.dataAge,
                names.pendingWrites,
                names.breakerState,
                names.rateBudgetRemaining,
                names.dataStale,
                names.refreshInterval,
                names.storeFlushFailures,
                names.bootstrapChunksFailed,
                names.bootstrapProgress,
                names.bootstrapDone,
              ],
              cause,
            },
          ),
        );
        continue;
      }
      Object.assign(merged.lastBarTs, part.lastBarTs);
      Object.assign(merged.breakers, part.breakers);
      Object.assign(merged.rateBudgets, part.rateBudgets);
      Object.assign(merged.stale, part.stale);
      Object.assign(merged.refreshIntervals, part.refreshIntervals);
      if (typeof part.pendingWrites === 'number' && Number.isFinite(part.pendingWrites)) {
        merged.pendingWrites += part.pendingWrites;
        sawPending = true;
      }
      if (typeof part.storeFlushFailures === 'number' && Number.isFinite(part.storeFlushFailures)) {
        merged.storeFlushFailures += Math.max(0, part.storeFlushFailures);
        sawFlushFailures = true;
      }
      if (part.bootstrap) merged.bootstrap = part.bootstrap;
    }
    return {
      ...merged,
      pendingWrites: sawPending ? merged.pendingWrites : undefined,
      storeFlushFailures: sawFlushFailures ? merged.storeFlushFailures : undefined,
    };
  }
  function gather(): Promise<ScrapeSnapshot> {
    if (!inFlight) {
      inFlight = runProviders().finally(() => {
        inFlight = undefined;
      });
    }
    return inFlight;
  }

  function scrapeGauge(
    key: MetricKey,
    help: string,
    labelNames: string[],
    fill: (gauge: Gauge, snap: ScrapeSnapshot) => void,
  ): void {
    new Gauge({
      name: names[key],
      help,
      labelNames: [...labelNames, ...constantNames],
      registers,
      async collect() {
        const snap = await gather();
        // Series of symbols/sources that disappeared must not linger with a stale value.
        this.reset();
        fill(this, snap);
      },
    });
    owned.push(names[key]);
  }
  /**
   * A counter whose running total lives elsewhere (a store's stats) and is copied in at scrape time;
   * the exposition type stays `counter` so `rate()`/`increase()` apply and a restart reads as a reset.
   */
  function scrapeCounter(
    key: MetricKey,
    help: string,
    value: (snap: ScrapeSnapshot) => number | undefined,
  ): void {
    new Counter({
      name: names[key],
      help,
      labelNames: [...constantNames],
      registers,
      async collect() {
        const v = value(await gather());
        this.reset();
        if (v !== undefined && Number.isFinite(v) && v >= 0) this.inc(constantLabels, v);
        // As for pending_writes: no provider reported it, so no series (unknown is not 0).
        else this.remove(constantLabels);
      },
    });
    owned.push(names[key]);
  }

  scrapeGauge(
    'dataAge',
    'Seconds since the open time of the newest bar per symbol, computed at scrape time.',
    ['symbol'],
    (g, s) => {
      const now = clock.now();
      for (const [symbol, ts] of Object.entries(s.lastBarTs ?? {})) {
        if (typeof ts === 'number' && Number.isFinite(ts))
          g.set(labels.of({ symbol }), Math.max(0, (now - ts) / 1000));
      }
    },
  );
  scrapeGauge(
    'pendingWrites',
    'Bars buffered for the store and not yet written, at scrape time.',
    [],
    (g, s) => {
      if (s.pendingWrites !== undefined) g.set(constantLabels, s.pendingWrites);
      // prom-client keeps a 0 series for a label-less gauge even after reset(): drop it, unknown is not 0.
      else g.remove(constantLabels);
    },
  );
  scrapeGauge(
    'breakerState',
    'Circuit breaker state per source: 1 for the current state, 0 for the others.',
    ['source', 'state'],
    (g, s) => {
      for (const [source, state] of Object.entries(s.breakers ?? {})) {
        if (!BREAKER_STATES.has(state as string)) continue;
        for (const candidate of BREAKER_STATE_LABELS) {
          g.set(labels.of({ source, state: candidate }), candidate === state ? 1 : 0);
        }
      }
    },
  );
  scrapeGauge(
    'rateBudgetRemaining',
    "Requests left in the source's rate budget per window, at scrape time.",
    ['source', 'window'],
    (g, s) => {
      for (const [source, budget] of Object.entries(s.rateBudgets ?? {})) {
        if (!budget) continue;
        if (typeof budget.perMinuteLeft === 'number')
          g.set(labels.of({ source, window: RATE_WINDOWS.minute }), budget.perMinuteLeft);
        if (typeof budget.perDayLeft === 'number')
          g.set(labels.of({ source, window: RATE_WINDOWS.day }), budget.perDayLeft);
      }
    },
  );

  scrapeGauge(
    'dataStale',
    "Whether the symbol's data is stale now (1) or fresh (0), by the service's freshness rule.",
    ['symbol'],
    (g, s) => {
      for (const [symbol, stale] of Object.entries(s.stale ?? {})) {
        if (typeof stale === 'boolean') g.set(labels.of({ symbol }), stale ? 1 : 0);
      }
    },
  );
  scrapeGauge(
    'refreshInterval',
    'Planned seconds between two polls of one symbol per source (the request budget spread over its window).',
    ['source'],
    (g, s) => {
      for (const [source, seconds] of Object.entries(s.refreshIntervals ?? {})) {
        if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0)
          g.set(labels.of({ source }), seconds);
      }
    },
  );

  scrapeCounter(
    'storeFlushFailures',
    'History store flushes that failed since the store was opened (the store keeps the rows and retries).',
    (s) => s.storeFlushFailures,
  );
  scrapeCounter(
    'bootstrapChunksFailed',
    'Bootstrap chunks (about one day of one symbol) no source could deliver, in the current run.',
    (s) => s.bootstrap?.chunksFailed,
  );
  scrapeGauge(
    'bootstrapProgress',
    'Share of the planned bootstrap chunks finished, 0..1 (1 when nothing was planned and the run is done).',
    [],
    (g, s) => {
      const ratio = bootstrapRatio(s.bootstrap);
      if (ratio !== undefined) g.set(constantLabels, ratio);
      else g.remove(constantLabels);
    },
  );
  scrapeGauge(
    'bootstrapDone',
    'Whether the start-up bootstrap has finished (1) or is still running (0).',
    [],
    (g, s) => {
      if (s.bootstrap && typeof s.bootstrap.done === 'boolean')
        g.set(constantLabels, s.bootstrap.done ? 1 : 0);
      else g.remove(constantLabels);
    },
  );

  return {
    onScrape: (provider) => {
      const wrapped: ScrapeProvider = () => provider();
      providers.add(wrapped);
      return { dispose: () => void providers.delete(wrapped) };
    },
    onScrapeError: errors.on,
    clear: () => {
      providers.clear();
      errors.clear();
    },
  };
}

/** chunksDone / chunksPlanned clamped to 0..1; undefined when there is no (valid) bootstrap report. */
function bootstrapRatio(b: BootstrapSnapshot | null | undefined): number | undefined {
  if (!b) return undefined;
  const { chunksPlanned: planned, chunksDone: done } = b;
  if (!Number.isFinite(planned) || !Number.isFinite(done) || planned < 0 || done < 0) return undefined;
  if (planned === 0) return b.done ? 1 : 0;
  return Math.min(1, done / planned);
}
