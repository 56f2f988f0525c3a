// Saved breaker state: what exportState writes (plain JSON, version 1) and the validation restoreState
// runs over all of it before anything is changed.
import { isRecord, type Clock } from '@pipeline/core';
import { type Circuit } from './circuit';
import { BreakerStateError } from './errors';
import { redactMessage } from './redact';
import { isBreakerState } from './states';
import {
  isBreakerSource,
  type BreakerSource,
  type ErrorSummary,
  type SavedBreakerState,
  type SavedSourceState,
} from './types';

/** The saved form of every circuit; a half-open circuit is saved open with probeAt = now. */
export function exportCircuits(circuits: Iterable<Circuit>, clock: Clock): SavedBreakerState {
  const savedAt = clock.now();
  const sources: Partial<Record<BreakerSource, SavedSourceState>> = {};
  for (const circuit of circuits) {
    const open = circuit.state !== 'closed';
    sources[circuit.source] = {
      state: open ? 'open' : 'closed',
      consecutiveFailures: circuit.counter.state,
      openedAt: open ? (circuit.open?.openedAt ?? savedAt) : null,
      probeAt: open ? (circuit.state === 'half_open' ? savedAt : (circuit.open?.probeAt ?? savedAt)) : null,
      coolingDownUntil: circuit.coolingDownUntil,
      lastError: circuit.lastError ? { ...circuit.lastError } : null,
    };
  }
  return { version: 1, savedAt, sources };
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function parseErrorSummary(value: unknown, path: string): ErrorSummary | null {
  if (value === null || value === undefined) return null;
  if (!isRecord(value)) {
    throw new BreakerStateError(path, `expected {code, message, at} or null, got ${JSON.stringify(value)}`);
  }
  const v = value;
  if (typeof v.code !== 'string' || typeof v.message !== 'string' || !isTime(v.at)) {
    throw new BreakerStateError(path, `expected {code, message, at} or null, got ${JSON.stringify(value)}`);
  }
  return { code: v.code, message: redactMessage(v.message), at: v.at };
}

/** Validates a saved state completely before anything is changed. */
export function parseSavedState(saved: unknown): {
  sources: Partial<Record<BreakerSource, SavedSourceState>>;
} {
  if (!isRecord(saved)) {
    throw new BreakerStateError('$', `expected an object, got ${JSON.stringify(saved)}`);
  }
  const s = saved;
  if (s.version !== 1) throw new BreakerStateError('version', `expected 1, got ${JSON.stringify(s.version)}`);
  if (!isRecord(s.sources)) {
    throw new BreakerStateError('sources', `expected an object, got ${JSON.stringify(s.sources)}`);
  }
  const sources: Partial<Record<BreakerSource, SavedSourceState>> = {};
  for (const [name, raw] of Object.entries(s.sources)) {
    const path = `sources.${name}`;
    if (!isBreakerSource(name)) throw new BreakerStateError(path, `bad source name ${JSON.stringify(name)}`);
    if (!isRecord(raw)) throw new BreakerStateError(path, 'expected an object');
    const r = raw;
    if (!isBreakerState(r.state) || r.state === 'half_open') {
      throw new BreakerStateError(
        `${path}.state`,
        `expected "closed" or "open", got ${JSON.stringify(r.state)}`,
      );
    }
    if (
      typeof r.consecutiveFailures !== 'number' ||
      !Number.isInteger(r.consecutiveFailures) ||
      r.consecutiveFailures < 0
    ) {
      throw new BreakerStateError(
        `${path}.consecutiveFailures`,
        `expected an integer >= 0, got ${JSON.stringify(r.consecutiveFailures)}`,
      );
    }
    if (r.state === 'open' && (!isTime(r.openedAt) || !isTime(r.probeAt))) {
      throw new BreakerStateError(
        path,
        `an open circuit needs openedAt and probeAt times, got ${JSON.stringify([r.openedAt, r.probeAt])}`,
      );
    }
    if (r.coolingDownUntil !== null && r.coolingDownUntil !== undefined && !isTime(r.coolingDownUntil)) {
      throw new BreakerStateError(
        `${path}.coolingDownUntil`,
        `expected a time or null, got ${JSON.stringify(r.coolingDownUntil)}`,
      );
    }
    sources[name] = {
      state: r.state,
      consecutiveFailures: r.consecutiveFailures,
      openedAt: r.state === 'open' ? (r.openedAt as number) : null,
      probeAt: r.state === 'open' ? (r.probeAt as number) : null,
      coolingDownUntil: isTime(r.coolingDownUntil) ? r.coolingDownUntil : null,
      lastError: parseErrorSummary(r.lastError, `${path}.lastError`),
    };
  }
  return { sources };
}
