// TEMPORARY stand-ins for @pipeline/validator and @pipeline/metrics while those packages are being
// written; replaced by the real libraries in src/wiring.ts as soon as they land.
import { type Scheduler } from '@pipeline/core';
import { type SidecarConfig } from './config';
import { type MetricsPort, type ValidatorPort } from './ports';

export function createValidatorPort(_config: SidecarConfig, _clock: Scheduler): ValidatorPort {
  return { validate: (bars) => ({ bars: [...bars], rejected: 0 }) };
}

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
