import { setMaxListeners } from 'node:events';
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  decorrelatedJitterGenerator,
  fullJitterGenerator,
  halfJitterGenerator,
  handleWhen,
  noJitterGenerator,
  type CircuitBreakerPolicy,
  type GeneratorFn,
  type IBackoff,
  type IDisposable,
} from 'cockatiel';
import {
  isFetchError,
  isPipelineError,
  isSourceName,
  type SourceName,
  type TimerHandle,
  type Disposable,
} from '@pipeline/core';
import {
  BreakerCancelledError,
  BreakerCoolingDownError,
  BreakerOpenError,
  BreakerStateError,
  BreakerTimeoutError,
  isBreakerError,
} from './errors';
import {
  resolveBreakerRegistryOptions,
  type BreakerRegistryOptions,
  type ResolvedBreakerRegistryOptions,
} from './options';
import { ClockProbeBackoff, type OpenWindow } from './probe-backoff';
import { redactMessage } from './redact';
import { isBreakerState, type BreakerState, type JitterMode } from './states';
import { AttemptWindow } from './window';

export type { Disposable } from '@pipeline/core';

/** The last error seen from a source, safe to show: code and redacted, truncated message. */
export interface ErrorSummary {
  code: string;
  message: string;
  /** When it happened, epoch ms (injected clock). */
  at: number;
}

/** Running totals per source since the registry (or the source's entry) was created. */
export interface SourceCounts {
  /** `execute` calls. */
  calls: number;
  /** Attempts that reached the source (first tries and retries). */
  attempts: number;
  successes: number;
  /** Attempts that failed and counted against the circuit. */
  failures: number;
  /** Attempts that failed without counting (rate limit, unknown symbol, bad request, ...). */
  ignoredErrors: number;
  /** Attempts aborted by `timeoutMs` (included in `failures`). */
  timeouts: number;
  retries: number;
  /** Calls refused without reaching the source (open circuit or Retry-After cool-down). */
  rejected: number;
  /** Times the circuit opened. */
  opened: number;
}

/** Health of one source at one moment. */
export interface SourceHealth {
  source: SourceName;
  state: BreakerState;
  /** True when `execute` would reach the source now (see `isCallable`). */
  callable: boolean;
  consecutiveFailures: number;
  /** Successful share of the last `windowSamples` attempts (0..1), null before any attempt. */
  successRate: number | null;
  /** Attempts in the window (at most `windowSize`). */
  windowSamples: number;
  /** Attempt latency percentiles over the window, ms (nearest rank); null before any attempt. */
  latencyMs: { p50: number | null; p90: number | null; p99: number | null };
  lastError: ErrorSummary | null;
  /** When the circuit last opened (epoch ms), null while closed. */
  openedAt: number | null;
  /** When an open circuit lets a probe through (epoch ms), null while closed. */
  probeAt: number | null;
  /** Retry-After cool-down end (epoch ms), null when none is running. */
  coolingDownUntil: number | null;
  counts: SourceCounts;
}

/** Emitted on every circuit transition. */
export interface StateChangeEvent {
  source: SourceName;
  from: BreakerState;
  to: BreakerState;
  /** Epoch ms (injected clock). */
  at: number;
  consecutiveFailures: number;
  /** Set when `to` is `open`. */
  probeAt: number | null;
  /** The error that caused the transition to `open`, if any. */
  lastError: ErrorSummary | null;
}

/** Emitted before each retry wait. */
export interface RetryEvent {
  source: SourceName;
  /** The attempt about to be made (2 = first retry). */
  attempt: number;
  /** How long the retry waits, ms (at least the source's Retry-After). */
  delayMs: number;
  error: ErrorSummary;
}

/** JSON-safe saved state (`exportState`), version 1. */
export interface SavedBreakerState {
  version: 1;
  /** Epoch ms (injected clock). */
  savedAt: number;
  sources: Partial<Record<SourceName, SavedSourceState>>;
}

export interface SavedSourceState {
  /** `half_open` is saved as `open` with `probeAt` = save time: a restart probes at once. */
  state: 'closed' | 'open';
  consecutiveFailures: number;
  openedAt: number | null;
  probeAt: number | null;
  coolingDownUntil: number | null;
  lastError: ErrorSummary | null;
}

export interface ExecuteOptions {
  /** The caller's cancellation; aborting it aborts the attempt's signal and any retry wait. */
  signal?: AbortSignal;
}

export interface BreakerRegistry {
  /** The resolved, frozen options. */
  readonly options: ResolvedBreakerRegistryOptions;
  /**
   * Runs `fn` against `source` under its circuit, with a per-attempt timeout and retries.
   * `fn` must pass the signal to its I/O. Rejects with the last error of `fn` (a FetchError
   * keeps its kind) or a BreakerError (`BREAKER_OPEN`, `BREAKER_COOLING_DOWN`,
   * `BREAKER_TIMEOUT`, `BREAKER_CANCELLED`).
   */
  execute<T>(
    source: SourceName,
    fn: (signal: AbortSignal) => Promise<T>,
    options?: ExecuteOptions,
  ): Promise<T>;
  /** False while the circuit is open before its probe time, while a probe is in flight, or during a Retry-After cool-down. */
  isCallable(source: SourceName): boolean;
  snapshot(): Partial<Record<SourceName, SourceHealth>>;
  snapshot(source: SourceName): SourceHealth;
  onStateChange(listener: (event: StateChangeEvent) => void): Disposable;
  onRetry(listener: (event: RetryEvent) => void): Disposable;
  exportState(): SavedBreakerState;
  /** Replaces the state of the saved sources; throws BREAKER_BAD_STATE on malformed input, changing nothing. */
  restoreState(saved: unknown): void;
  /** Aborts in-flight calls and retry waits; later calls reject with BREAKER_CANCELLED. */
  close(): void;
}

interface SourceEntry {
  readonly source: SourceName;
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

const GENERATORS = {
  decorrelated: decorrelatedJitterGenerator,
  full: fullJitterGenerator,
  half: halfJitterGenerator,
  none: noJitterGenerator,
} as const satisfies Record<JitterMode, unknown>;

/**
 * Whether an error is evidence that the source is unhealthy. Decided by core's fetch error table:
 * rate limits, unknown symbols, unsupported requests and caller cancellations do not count;
 * timeouts and errors of unknown origin do.
 */
export function countsAgainstBreaker(error: unknown): boolean {
  if (isBreakerError(error)) return error.code === 'BREAKER_TIMEOUT';
  if (isFetchError(error)) return error.countsForBreaker;
  return true;
}

/** Whether another attempt in the same call may help (before the Retry-After rule is applied). */
export function isRetryableError(error: unknown): boolean {
  if (isBreakerError(error)) return error.code === 'BREAKER_TIMEOUT';
  if (isFetchError(error)) return error.retryable;
  return true;
}

function summarise(error: unknown, at: number): ErrorSummary {
  const code = isPipelineError(error)
    ? error.code
    : error instanceof Error
      ? error.name || 'Error'
      : 'UNKNOWN';
  const message = error instanceof Error ? error.message : String(error);
  return { code, message: redactMessage(message), at };
}

const COCKATIEL_TO_STATE: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  // Never used here (no isolate()), mapped for completeness: an isolated circuit refuses calls.
  [CircuitState.Isolated]: 'open',
};

function emit<E>(listeners: Set<(event: E) => void>, event: E): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch {
      // A listener's bug must not break the breaker's bookkeeping; listeners are documented
      // as must-not-throw.
    }
  }
}

/**
 * Creates one circuit per source (lazily, on first use), sharing options and an injected clock.
 *
 * Composition per `execute`: retry loop (ours, on the injected scheduler) -> cockatiel
 * CircuitBreakerPolicy (ConsecutiveBreaker, handleWhen(countsAgainstBreaker)) -> timeout (ours,
 * aborting the attempt's AbortSignal).
 */
export function createBreakerRegistry(options?: Partial<BreakerRegistryOptions>): BreakerRegistry {
  const opts = resolveBreakerRegistryOptions(options);
  const { clock } = opts;
  const entries = new Map<SourceName, SourceEntry>();
  const stateListeners = new Set<(event: StateChangeEvent) => void>();
  const retryListeners = new Set<(event: RetryEvent) => void>();
  const closing = new AbortController();
  // Every call without a caller signal listens on this one long-lived signal for the duration of
  // the call and removes its listener afterwards: many concurrent calls are normal, not a leak.
  setMaxListeners(0, closing.signal);

  function makeEntry(source: SourceName, restore?: SavedSourceState): SourceEntry {
    const counter = new ConsecutiveBreaker(opts.breaker.failureThreshold);
    // Assigned once below; the cockatiel callbacks created before it read it lazily.
    // eslint-disable-next-line prefer-const
    let entry: SourceEntry | undefined;
    let pendingOpen: OpenWindow | null = null;
    const probe = new ClockProbeBackoff(clock, opts.breaker.halfOpenAfterMs, (window) => {
      if (entry) entry.open = window;
      else pendingOpen = window;
    });
    let initialState: unknown;
    if (restore) {
      if (restore.state === 'open') {
        probe.primeRestore({ openedAt: restore.openedAt!, probeAt: restore.probeAt! });
        // openedAt is irrelevant to cockatiel here: the probe backoff's duration decides.
        initialState = {
          ownState: { value: CircuitState.Open, openedAt: 0, attemptNo: 1 },
          breakerState: restore.consecutiveFailures,
        };
      } else {
        initialState = {
          ownState: { value: CircuitState.Closed },
          breakerState: restore.consecutiveFailures,
        };
      }
    }
    // cockatiel closes a half-open circuit on any error its policy does not handle ("the source
    // answered"). A probe the caller cancelled proved nothing, so there it is handled (re-opens).
    const handles = handleWhen(
      (error) =>
        countsAgainstBreaker(error) ||
        (entry?.state === 'half_open' && isBreakerError(error, 'BREAKER_CANCELLED')),
    );
    const policy = circuitBreaker(handles, { breaker: counter, halfOpenAfter: probe, initialState });
    const subscription = policy.onStateChange((cockatielState) => {
      const e = entry!;
      const from = e.state;
      const to = COCKATIEL_TO_STATE[cockatielState];
      e.state = to;
      if (to === 'closed') e.open = null;
      if (to === 'open') e.counts.opened++;
      if (from === to) return;
      emit(stateListeners, {
        source,
        from,
        to,
        at: clock.now(),
        consecutiveFailures: counter.state,
        probeAt: to === 'open' ? (e.open?.probeAt ?? null) : null,
        lastError: e.lastError,
      });
    });
    entry = {
      source,
      policy,
      counter,
      window: new AttemptWindow(opts.windowSize),
      subscription,
      state: restore?.state ?? 'closed',
      open: pendingOpen,
      coolingDownUntil: restore?.coolingDownUntil ?? null,
      lastError: restore?.lastError ?? null,
      counts: {
        calls: 0,
        attempts: 0,
        successes: 0,
        failures: 0,
        ignoredErrors: 0,
        timeouts: 0,
        retries: 0,
        rejected: 0,
        opened: 0,
      },
    };
    return entry;
  }

  function entryOf(source: SourceName): SourceEntry {
    let entry = entries.get(source);
    if (!entry) {
      if (!isSourceName(source)) throw new TypeError(`unknown source ${JSON.stringify(source)}`);
      entry = makeEntry(source);
      entries.set(source, entry);
    }
    return entry;
  }

  /** The refusal `execute` would throw right now, or null when the source may be called. */
  function refusal(entry: SourceEntry): Error | null {
    const now = clock.now();
    if (entry.state === 'half_open') return new BreakerOpenError(entry.source, 'half_open', null);
    if (entry.state === 'open' && entry.open && now < entry.open.probeAt) {
      return new BreakerOpenError(entry.source, 'open', entry.open.probeAt);
    }
    if (entry.coolingDownUntil !== null) {
      if (now < entry.coolingDownUntil) {
        return new BreakerCoolingDownError(entry.source, entry.coolingDownUntil, entry.lastError);
      }
      entry.coolingDownUntil = null;
    }
    return null;
  }

  async function attempt<T>(
    entry: SourceEntry,
    fn: (signal: AbortSignal) => Promise<T>,
    outer: AbortSignal,
  ): Promise<T> {
    const { source } = entry;
    const controller = new AbortController();
    let timer: TimerHandle | undefined;
    let onOuterAbort: (() => void) | undefined;
    const started = clock.now();
    entry.counts.attempts++;
    try {
      const value = await entry.policy.execute(
        () =>
          new Promise<T>((resolve, reject) => {
            onOuterAbort = () => {
              controller.abort(outer.reason);
              reject(new BreakerCancelledError(source, outer.reason));
            };
            outer.addEventListener('abort', onOuterAbort, { once: true });
            if (opts.timeoutMs > 0) {
              timer = clock.setTimeout(() => {
                const error = new BreakerTimeoutError(source, opts.timeoutMs);
                controller.abort(error);
                reject(error);
              }, opts.timeoutMs);
            }
            // The attempt settles on whichever comes first: fn, the timeout or the caller's abort.
            // A late settlement of fn is swallowed by the settled promise.
            Promise.resolve()
              .then(() => fn(controller.signal))
              .then(resolve, (error: unknown) =>
                reject(outer.aborted ? new BreakerCancelledError(source, error) : (error as Error)),
              );
          }),
      );
      entry.counts.successes++;
      entry.window.record(true, clock.now() - started);
      return value;
    } catch (raw) {
      const error = raw instanceof BrokenCircuitError ? new BreakerOpenError(source, entry.state, null) : raw;
      const now = clock.now();
      if (isBreakerError(error, 'BREAKER_CANCELLED') || isBreakerError(error, 'BREAKER_OPEN')) throw error;
      entry.window.record(false, now - started);
      entry.lastError = summarise(error, now);
      if (countsAgainstBreaker(error)) entry.counts.failures++;
      else entry.counts.ignoredErrors++;
      if (isBreakerError(error, 'BREAKER_TIMEOUT')) entry.counts.timeouts++;
      if (isFetchError(error) && error.kind === 'rate_limited' && (error.retryAfterMs ?? 0) > 0) {
        entry.coolingDownUntil = now + error.retryAfterMs!;
      }
      throw error;
    } finally {
      timer?.cancel();
      if (onOuterAbort) outer.removeEventListener('abort', onOuterAbort);
    }
  }

  function sleep(ms: number, signal: AbortSignal, source: SourceName): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        handle.cancel();
        reject(new BreakerCancelledError(source, signal.reason));
      };
      const handle = clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async function execute<T>(
    source: SourceName,
    fn: (signal: AbortSignal) => Promise<T>,
    executeOptions?: ExecuteOptions,
  ): Promise<T> {
    const entry = entryOf(source);
    entry.counts.calls++;
    const caller = executeOptions?.signal;
    if (!caller) return run(entry, fn, closing.signal);
    // One signal for "the caller or the registry gave up", linked by hand and unlinked when the
    // call ends: listeners on the long-lived registry signal must not pile up.
    const link = new AbortController();
    const fromCaller = () => link.abort(caller.reason);
    const fromRegistry = () => link.abort(closing.signal.reason);
    if (caller.aborted) fromCaller();
    else if (closing.signal.aborted) fromRegistry();
    caller.addEventListener('abort', fromCaller, { once: true });
    closing.signal.addEventListener('abort', fromRegistry, { once: true });
    try {
      return await run(entry, fn, link.signal);
    } finally {
      caller.removeEventListener('abort', fromCaller);
      closing.signal.removeEventListener('abort', fromRegistry);
    }
  }

  async function run<T>(
    entry: SourceEntry,
    fn: (signal: AbortSignal) => Promise<T>,
    outer: AbortSignal,
  ): Promise<T> {
    const { source } = entry;
    let backoff: IBackoff<unknown> | undefined;
    for (let attemptNo = 1; ; attemptNo++) {
      if (outer.aborted) throw new BreakerCancelledError(source, outer.reason);
      const refused = refusal(entry);
      if (refused) {
        entry.counts.rejected++;
        throw refused;
      }
      try {
        return await attempt(entry, fn, outer);
      } catch (error) {
        if (
          attemptNo >= opts.retry.maxAttempts ||
          !isRetryableError(error) ||
          // The failure just opened the circuit: stop here and let the caller fall back.
          entry.state !== 'closed'
        ) {
          throw error;
        }
        backoff = backoff
          ? backoff.next(undefined)
          : new ExponentialBackoff<unknown>({
              generator: GENERATORS[opts.retry.jitter] as GeneratorFn<unknown>,
              initialDelay: opts.retry.baseDelayMs,
              maxDelay: opts.retry.maxDelayMs,
            }).next();
        let delayMs = backoff.duration;
        if (isFetchError(error) && error.kind === 'rate_limited') {
          // Retry-After rule: no header, or longer than one retry may wait, means not again in
          // this call; the cool-down set by attempt() then refuses later calls until it passes.
          if (error.retryAfterMs === undefined || error.retryAfterMs > opts.retry.maxDelayMs) throw error;
          delayMs = Math.max(delayMs, error.retryAfterMs);
        }
        entry.counts.retries++;
        emit(retryListeners, {
          source,
          attempt: attemptNo + 1,
          delayMs,
          error: entry.lastError ?? summarise(error, clock.now()),
        });
        await sleep(delayMs, outer, source);
      }
    }
  }

  function healthOf(entry: SourceEntry): SourceHealth {
    const now = clock.now();
    const cooling =
      entry.coolingDownUntil !== null && now < entry.coolingDownUntil ? entry.coolingDownUntil : null;
    return {
      source: entry.source,
      state: entry.state,
      callable: refusal(entry) === null,
      consecutiveFailures: entry.counter.state,
      successRate: entry.window.successRate(),
      windowSamples: entry.window.count,
      latencyMs: entry.window.percentiles(),
      lastError: entry.lastError ? { ...entry.lastError } : null,
      openedAt: entry.open?.openedAt ?? null,
      probeAt: entry.state === 'closed' ? null : (entry.open?.probeAt ?? null),
      coolingDownUntil: cooling,
      counts: { ...entry.counts },
    };
  }

  function snapshot(): Partial<Record<SourceName, SourceHealth>>;
  function snapshot(source: SourceName): SourceHealth;
  function snapshot(source?: SourceName): SourceHealth | Partial<Record<SourceName, SourceHealth>> {
    if (source !== undefined) return healthOf(entryOf(source));
    const all: Partial<Record<SourceName, SourceHealth>> = {};
    for (const [name, entry] of entries) all[name] = healthOf(entry);
    return all;
  }

  function exportState(): SavedBreakerState {
    const savedAt = clock.now();
    const sources: Partial<Record<SourceName, SavedSourceState>> = {};
    for (const [name, entry] of entries) {
      const open = entry.state !== 'closed';
      sources[name] = {
        state: open ? 'open' : 'closed',
        consecutiveFailures: entry.counter.state,
        openedAt: open ? (entry.open?.openedAt ?? savedAt) : null,
        probeAt: open ? (entry.state === 'half_open' ? savedAt : (entry.open?.probeAt ?? savedAt)) : null,
        coolingDownUntil: entry.coolingDownUntil,
        lastError: entry.lastError ? { ...entry.lastError } : null,
      };
    }
    return { version: 1, savedAt, sources };
  }

  function restoreState(saved: unknown): void {
    const parsed = parseSavedState(saved);
    for (const [name, state] of Object.entries(parsed.sources) as Array<[SourceName, SavedSourceState]>) {
      entries.get(name)?.subscription.dispose();
      entries.set(name, makeEntry(name, state));
    }
  }

  function subscribe<E>(set: Set<(event: E) => void>, listener: (event: E) => void): Disposable {
    const wrapped = (event: E) => listener(event);
    set.add(wrapped);
    return { dispose: () => void set.delete(wrapped) };
  }

  return {
    options: opts,
    execute,
    isCallable: (source) => refusal(entryOf(source)) === null,
    snapshot,
    onStateChange: (listener) => subscribe(stateListeners, listener),
    onRetry: (listener) => subscribe(retryListeners, listener),
    exportState,
    restoreState,
    close: () => closing.abort(new Error('breaker registry closed')),
  };
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function parseErrorSummary(value: unknown, path: string): ErrorSummary | null {
  if (value === null || value === undefined) return null;
  const v = value as Record<string, unknown>;
  if (
    typeof value !== 'object' ||
    typeof v.code !== 'string' ||
    typeof v.message !== 'string' ||
    !isTime(v.at)
  ) {
    throw new BreakerStateError(path, `expected {code, message, at} or null, got ${JSON.stringify(value)}`);
  }
  return { code: v.code, message: redactMessage(v.message), at: v.at };
}

/** Validates a saved state completely before anything is changed. */
function parseSavedState(saved: unknown): { sources: Partial<Record<SourceName, SavedSourceState>> } {
  if (typeof saved !== 'object' || saved === null) {
    throw new BreakerStateError('$', `expected an object, got ${JSON.stringify(saved)}`);
  }
  const s = saved as Record<string, unknown>;
  if (s.version !== 1) throw new BreakerStateError('version', `expected 1, got ${JSON.stringify(s.version)}`);
  if (typeof s.sources !== 'object' || s.sources === null) {
    throw new BreakerStateError('sources', `expected an object, got ${JSON.stringify(s.sources)}`);
  }
  const sources: Partial<Record<SourceName, SavedSourceState>> = {};
  for (const [name, raw] of Object.entries(s.sources as Record<string, unknown>)) {
    const path = `sources.${name}`;
    if (!isSourceName(name)) throw new BreakerStateError(path, `unknown source ${JSON.stringify(name)}`);
    const r = raw as Record<string, unknown>;
    if (typeof raw !== 'object' || raw === null) throw new BreakerStateError(path, 'expected an object');
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
