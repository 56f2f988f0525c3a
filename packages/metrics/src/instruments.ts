// The push instruments (counters and histograms) behind the typed handles: each registers one
// prom-client metric, resolves its label rules once, and drops (and counts) bad values instead of
// throwing on the hot path.
import { Counter, Histogram, type Registry } from 'prom-client';
import { createFoldedHistogram } from './folded-histogram';
import { type Labeller } from './labels';
import { type MetricKey } from './names';
import {
  type CounterHandle,
  type HistogramHandle,
  type PlainCounterHandle,
  type PlainHistogramHandle,
} from './types';

export interface InstrumentFactory {
  histogram<L extends string>(
    key: MetricKey,
    help: string,
    labelNames: L[],
    buckets: number[],
  ): HistogramHandle<L>;
  plainHistogram(key: MetricKey, help: string, buckets: number[]): PlainHistogramHandle;
  counter<L extends string>(key: MetricKey, help: string, labelNames: L[]): CounterHandle<L>;
  plainCounter(key: MetricKey, help: string): PlainCounterHandle;
}

/** Creates the instrument factory and the `dropped_observations_total` counter it reports to. */
export function createInstruments(
  registry: Registry,
  names: Readonly<Record<MetricKey, string>>,
  labels: Labeller,
  owned: string[],
): InstrumentFactory {
  const registers = [registry];
  const { constantLabels, constantNames } = labels;
  const dropped = new Counter({
    name: names.droppedObservations,
    help: 'Observations dropped because the value was negative or not finite, by metric.',
    labelNames: ['metric', ...constantNames],
    registers,
  });
  owned.push(names.droppedObservations);
  const valid = (metric: string, value: number, allowZero = true): boolean => {
    if (Number.isFinite(value) && (value > 0 || (allowZero && value === 0))) return true;
    dropped.inc({ metric, ...constantLabels });
    return false;
  };

  function histogram<L extends string>(
    key: MetricKey,
    help: string,
    labelNames: L[],
    buckets: number[],
  ): HistogramHandle<L> {
    const name = names[key];
    const h = new Histogram({
      name,
      help,
      labelNames: [...labelNames, ...constantNames],
      buckets,
      registers,
    });
    owned.push(name);
    const labelsFor = labels.forNames(labelNames);
    return {
      observe(values, seconds) {
        if (valid(name, seconds)) h.observe(labelsFor(values), seconds);
      },
      startTimer(values) {
        const start = process.hrtime.bigint();
        const resolved = labelsFor(values);
        return () => {
          const seconds = Number(process.hrtime.bigint() - start) / 1e9;
          h.observe(resolved, seconds);
          return seconds;
        };
      },
    };
  }
  function counter<L extends string>(key: MetricKey, help: string, labelNames: L[]): CounterHandle<L> {
    const name = names[key];
    const c = new Counter({ name, help, labelNames: [...labelNames, ...constantNames], registers });
    owned.push(name);
    const labelsFor = labels.forNames(labelNames);
    return {
      inc(values, by = 1) {
        if (valid(name, by)) c.inc(labelsFor(values), by);
      },
    };
  }
  return {
    histogram,
    counter,
    // Label-free: counted without an object per call and folded into prom-client on collect.
    plainHistogram(key, help, buckets) {
      const name = names[key];
      const h = createFoldedHistogram({ name, help, labels: constantLabels, buckets, registers });
      owned.push(name);
      return {
        observe(seconds) {
          if (valid(name, seconds)) h.observe(seconds);
        },
        startTimer() {
          const start = process.hrtime.bigint();
          return () => {
            const seconds = Number(process.hrtime.bigint() - start) / 1e9;
            h.observe(seconds);
            return seconds;
          };
        },
      };
    },
    plainCounter(key, help) {
      const c = counter<never>(key, help, []);
      return { inc: (by?: number) => c.inc({}, by) };
    },
  };
}
