// prom-client's default process metrics, registered under the instance's prefix and labels, with the
// gauges whose names break the `_total` rule renamed (promtool rejects them).
import {
  Gauge,
  collectDefaultMetrics,
  type MetricObjectWithValues,
  type MetricValue,
  type Registry,
} from 'prom-client';
import { MetricsError } from './errors';

/**
 * Registers the process metrics in `registry`; on a clash removes everything `owned` and what was
 * just added, and throws METRICS_NAME_CLASH. Adds the new names to `owned`.
 */
export function registerProcessMetrics(
  registry: Registry,
  prefix: string,
  constantLabels: Record<string, string>,
  owned: string[],
): void {
  const before = new Set(registry.getMetricsAsArray().map((m) => m.name));
  try {
    collectDefaultMetrics({ register: registry, prefix, labels: constantLabels });
  } catch (cause) {
    const added = registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .filter((n) => !before.has(n));
    for (const name of [...owned, ...added]) registry.removeSingleMetric(name);
    throw new MetricsError(
      'METRICS_NAME_CLASH',
      `createPipelineMetrics: process metrics with prefix ${JSON.stringify(prefix)} are already registered in this registry`,
      { metrics: added, cause },
    );
  }
  for (const m of registry.getMetricsAsArray()) if (!before.has(m.name)) owned.push(m.name);
  renameTotalGauges(registry, owned);
}

/**
 * prom-client's process metrics include gauges named `nodejs_active_{handles,requests,resources}_total`
 * (sums of the by-type gauges of the same name without `_total`); `promtool check metrics`
 * rejects `_total` on anything but a counter. Each is dropped when its by-type twin exists (the
 * sum is `sum(<name>)` in PromQL) and otherwise re-exposed without `_total`.
 */
function renameTotalGauges(registry: Registry, owned: string[]): void {
  type Readable = {
    type?: string;
    labelNames?: string[];
    help?: string;
    get(): Promise<MetricObjectWithValues<MetricValue<string>>>;
  };
  for (const name of [...owned]) {
    const original = registry.getSingleMetric(name) as unknown as Readable | undefined;
    if (!original || !name.endsWith('_total') || original.type === 'counter') continue;
    registry.removeSingleMetric(name);
    owned.splice(owned.indexOf(name), 1);
    const renamed = name.slice(0, -'_total'.length);
    if (registry.getSingleMetric(renamed) !== undefined) continue;
    new Gauge({
      name: renamed,
      help: original.help ?? renamed,
      labelNames: original.labelNames ?? [],
      registers: [registry],
      async collect() {
        const current = await original.get();
        this.reset();
        for (const v of current.values) this.set(v.labels, v.value);
      },
    });
    owned.push(renamed);
  }
}
