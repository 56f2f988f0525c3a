// What snapshot() reports of one circuit at one moment.
import { type Clock } from '@pipeline/core';
import { refusalOf, type Circuit } from './circuit';
import { type SourceHealth } from './types';

export function healthOf(circuit: Circuit, clock: Clock): SourceHealth {
  const now = clock.now();
  const cooling =
    circuit.coolingDownUntil !== null && now < circuit.coolingDownUntil ? circuit.coolingDownUntil : null;
  return {
    source: circuit.source,
    state: circuit.state,
    callable: refusalOf(circuit, clock) === null,
    consecutiveFailures: circuit.counter.state,
    successRate: circuit.window.successRate(),
    windowSamples: circuit.window.count,
    latencyMs: circuit.window.percentiles(),
    lastError: circuit.lastError ? { ...circuit.lastError } : null,
    openedAt: circuit.open?.openedAt ?? null,
    probeAt: circuit.state === 'closed' ? null : (circuit.open?.probeAt ?? null),
    coolingDownUntil: cooling,
    counts: { ...circuit.counts },
  };
}
