// One source's circuit: cockatiel's CircuitBreakerPolicy (ConsecutiveBreaker, handleWhen the policy)
// with its half-open timing on the injected clock, plus the per-source bookkeeping (cool-down, last
// error, attempt window, counts) and the refusal rule that execute and isCallable share.
import {
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  type CircuitBreakerPolicy,
  type IDisposable,
} from 'cockatiel';
import { type Clock } from '@pipeline/core';
import { BreakerCoolingDownError, BreakerOpenError, isBreakerError } from './errors';
import { type ResolvedBreakerRegistryOptions } from './options';
import { countsAgainstBreaker } from './policy';
import { ClockProbeBackoff, type OpenWindow } from './probe-backoff';
import { type BreakerState } from './states';
import {
  type BreakerSource,
  type ErrorSummary,
  type SavedSourceState,
  type SourceCounts,
  type StateChangeEvent,
} from './types';
import { AttemptWindow } from './window';

export interface Circuit {
  readonly source: BreakerSource;
  readonly policy: CircuitBreakerPolicy;
  readonly counter: ConsecutiveBreaker;
  readonly window: AttemptWindow;
  readonly subscription: IDisposable;
  state: BreakerState;
  open: OpenWindow | null;
  coolingDownUntil: number | null;
  lastError: ErrorSummary | null;
  counts: SourceCounts;
}

const COCKATIEL_TO_STATE: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  // Never used here (no isolate()), mapped for completeness: an isolated circuit refuses calls.
  [CircuitState.Isolated]: 'open',
};

function zeroCounts(): SourceCounts {
  return {
    calls: 0,
    attempts: 0,
    successes: 0,
    failures: 0,
    ignoredErrors: 0,
    timeouts: 0,
    retries: 0,
    rejected: 0,
    opened: 0,
  };
}

/**
 * Creates the circuit of `source`, fresh or from a saved state (an open circuit stays open until its
 * saved probe time, through cockatiel's `initialState`). `onTransition` receives every state change.
 */
export function createCircuit(
  source: BreakerSource,
  opts: ResolvedBreakerRegistryOptions,
  onTransition: (event: StateChangeEvent) => void,
  restore?: SavedSourceState,
): Circuit {
  const { clock } = opts;
  const counter = new ConsecutiveBreaker(opts.breaker.failureThreshold);
  // Assigned once below; the cockatiel callbacks created before it read it lazily.
  // eslint-disable-next-line prefer-const
  let circuit: Circuit | undefined;
  let pendingOpen: OpenWindow | null = null;
  const probe = new ClockProbeBackoff(clock, opts.breaker.halfOpenAfterMs, (window) => {
    if (circuit) circuit.open = window;
    else pendingOpen = window;
  });
  let initialState: unknown;
  if (restore) {
    if (restore.state === 'open' && restore.openedAt !== null && restore.probeAt !== null) {
      probe.primeRestore({ openedAt: restore.openedAt, probeAt: restore.probeAt });
      // openedAt is irrelevant to cockatiel here: the probe backoff's duration decides.
      initialState = {
        ownState: { value: CircuitState.Open, openedAt: 0, attemptNo: 1 },
        breakerState: restore.consecutiveFailures,
      };
    } else {
      initialState = { ownState: { value: CircuitState.Closed }, breakerState: restore.consecutiveFailures };
    }
  }
  // cockatiel closes a half-open circuit on any error its policy does not handle ("the source
  // answered"). A probe the caller cancelled proved nothing, so there it is handled (re-opens).
  const handles = handleWhen(
    (error) =>
      countsAgainstBreaker(error) ||
      (circuit?.state === 'half_open' && isBreakerError(error, 'BREAKER_CANCELLED')),
  );
  const policy = circuitBreaker(handles, { breaker: counter, halfOpenAfter: probe, initialState });
  const subscription = policy.onStateChange((cockatielState) => {
    // cockatiel emits only after the policy exists, i.e. after `circuit` is assigned below.
    const c = circuit as Circuit;
    const from = c.state;
    const to = COCKATIEL_TO_STATE[cockatielState];
    c.state = to;
    if (to === 'closed') c.open = null;
    if (to === 'open') c.counts.opened++;
    if (from === to) return;
    onTransition({
      source,
      from,
      to,
      at: clock.now(),
      consecutiveFailures: counter.state,
      probeAt: to === 'open' ? (c.open?.probeAt ?? null) : null,
      lastError: c.lastError,
    });
  });
  circuit = {
    source,
    policy,
    counter,
    window: new AttemptWindow(opts.windowSize),
    subscription,
    state: restore?.state ?? 'closed',
    open: pendingOpen,
    coolingDownUntil: restore?.coolingDownUntil ?? null,
    lastError: restore?.lastError ?? null,
    counts: zeroCounts(),
  };
  return circuit;
}

/** The refusal `execute` would throw right now, or null when the source may be called. */
export function refusalOf(circuit: Circuit, clock: Clock): Error | null {
  const now = clock.now();
  if (circuit.state === 'half_open') return new BreakerOpenError(circuit.source, 'half_open', null);
  if (circuit.state === 'open' && circuit.open && now < circuit.open.probeAt) {
    return new BreakerOpenError(circuit.source, 'open', circuit.open.probeAt);
  }
  if (circuit.coolingDownUntil !== null) {
    if (now < circuit.coolingDownUntil) {
      return new BreakerCoolingDownError(circuit.source, circuit.coolingDownUntil, circuit.lastError);
    }
    circuit.coolingDownUntil = null;
  }
  return null;
}
