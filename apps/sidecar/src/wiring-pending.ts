// TEMPORARY stand-in for @pipeline/metrics while that package is being written; replaced by the real libraries in src/wiring.ts as soon as they land.
import { type MetricsPort } from './ports';

export function createMetricsPort(): MetricsPort {
  const counts = { cycles: 0, overruns: 0, bars: 0, rejected: 0 };
  return {
    cycle: () => void counts.cycles++,
    overrun: (n) => void (counts.overruns += n),
    fetch: () => undefined,
    barsWritten: (n) => void (counts.bars += n),
    barsRejected: (n) => void (counts.rejected += n),
    signal: () => undefined,
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    text: async () =>
      Object.entries(counts)
        .map(([k, v]) => `# TYPE sidecar_${k}_total counter\nsidecar_${k}_total ${v}`)
        .join('\n') + '\n',
    json: async () => ({ ...counts }),
  };
}
