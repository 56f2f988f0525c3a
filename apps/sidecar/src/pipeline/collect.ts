// Collect: one collection cycle. Every symbol whose turn it is (the request planner) is fetched
// from its first healthy source, at most FETCH_CONCURRENCY at a time, streamed or not; answers are ingested as they
// arrive, with a time-based yield gate so HTTP readers are not starved; then the cycle's accepted
// bars go to the sinks in one batch and its new signals are published.
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import {
  TIMEFRAME_MS,
  alignTs,
  isFetchError,
  type Bar,
  type Clock,
  type SourceName,
  type Timeframe,
} from '@pipeline/core';
import { LifecycleError, isSidecarError, type SourceAttempt } from '../errors';
import { createEmitter, type Emitter } from '../events';
import { type BreakerPort, type MetricsPort, type SourceSlot } from '../ports';
import { type SymbolState, type SymbolStates } from '../state/symbol-state';
import { type SignalBook } from '../strategy/signals';
import { type Logger } from '../wiring/logger';
import { fetchLatestWithFallback, forEachLimited } from './fallback';
import { type Ingest } from './ingest';
import { type RequestPlanner } from './planner';
import { type Sinks } from './sinks';

/** How many latest bars a poll asks for: the forming bar and the one before it (closes the previous). */
const LATEST_LIMIT = 3;
/**
 * CPU time (ms of wall time) the cycle may spend processing answers back to back before it yields
 * to the event loop, so HTTP readers wait at most about this long behind a cycle.
 */
const YIELD_AFTER_MS = 1;

/** Summary of one collection cycle. */
export interface CycleReport {
  cycle: number;
  startedAt: number;
  durationMs: number;
  ok: number;
  failed: number;
  /** Symbols whose stream is delivering (their polls keep the forming bar fresh alongside it). */
  streamed: number;
  /** Symbols not asked this cycle: the request planner spreads the budget, their turn comes later. */
  waiting: number;
  barsWritten: number;
  barsRejected: number;
}

/** Payload of `onFetched`: a source's answer arrived, before validation. */
export interface FetchedInfo {
  symbol: string;
  source: SourceName;
  at: number;
  bars: number;
}

export interface CollectorOptions {
  symbols: readonly string[];
  timeframe: Timeframe;
  /** COLLECTION_INTERVAL in ms. */
  intervalMs: number;
  /** STALE_AFTER in ms: a stream whose due bar is this late is silent. @default max(2 x interval, timeframe) */
  staleAfterMs?: number;
  /** FETCH_CONCURRENCY: symbols fetched at once. */
  fetchConcurrency: number;
  sources: readonly SourceSlot[];
  breaker: BreakerPort;
  clock: Clock;
  states: SymbolStates;
  ingest: Ingest;
  sinks: Sinks;
  signals: Pick<SignalBook, 'drain'>;
  metrics: Pick<MetricsPort, 'fetchDuration' | 'fetchErrors' | 'barsIngested' | 'cycleDuration'>;
  log: Logger;
  /** True once shutdown began: failures then are cancellations, not source failures. */
  isStopping: () => boolean;
  /** Runs after each cycle's writes, before its report is announced (the shell starts gap repair). */
  afterCycle?: () => void;
  /** Spreads each source's budget over its windows (pipeline/planner.ts). @default every symbol every cycle */
  planner?: RequestPlanner;
  /**
   * Cluster mode (cluster/stage.ts): `beforeCycle` renews the leases, only symbols for which
   * `isCollecting` is true are fetched, and `fence` (one call per cycle) names the symbols whose bars
   * and signals may still be written. @default every symbol, no fence
   */
  ownership?: {
    beforeCycle(): Promise<void>;
    isCollecting(symbol: string): boolean;
    fence(symbols: Iterable<string>): Promise<Set<string>>;
  };
}

export interface Collector {
  /** Runs one cycle now. */
  runCycle(): Promise<CycleReport>;
  /** Ingests one bar pushed by the stream (polls of its symbol go on, within the budget). */
  onStreamBar(bar: Bar, source: SourceName): void;
  /** Aborts the in-flight fetches of the running cycle (shutdown). */
  abort(): void;
  readonly cycles: number;
  readonly lastCycleMs: number | null;
  onCycle(fn: (report: CycleReport) => void): () => void;
  onFetched(fn: (info: FetchedInfo) => void): () => void;
}

/** Per-symbol stream delivery: the stream brings each period's bar once it closed. */
interface StreamWatch {
  /** True while the bar of the period that closed STALE_AFTER ago has arrived. */
  delivers(symbol: string, now: number): boolean;
  /** Notes a delivered bar's open time. */
  saw(symbol: string, ts: number): void;
}

function createStreamWatch(tf: Timeframe, silentAfterMs: number): StreamWatch {
  const tfMs = TIMEFRAME_MS[tf];
  /** Open time of the newest bar the stream delivered per symbol (epoch ms). */
  const lastTs = new Map<string, number>();
  return {
    delivers(symbol, now) {
      const last = lastTs.get(symbol);
      return last !== undefined && last >= alignTs(now - silentAfterMs, tf) - tfMs;
    },
    saw(symbol, ts) {
      lastTs.set(symbol, Math.max(ts, lastTs.get(symbol) ?? -Infinity));
    },
  };
}

/**
 * The cycle's yield gate. When many answers arrive together their processing runs back to back as
 * microtasks, and HTTP readers wait for the whole batch. After `afterMs` of such work all workers
 * pause on one shared setImmediate gate, so pending requests (I/O) are served in between.
 */
interface YieldGate {
  /** Undefined when open (no extra await), else a promise that settles once the gate opens again. */
  pass(): Promise<void> | undefined;
  /** Call after processing an answer: closes the gate once the slice is used up. */
  worked(): void;
}

function createYieldGate(afterMs: number): YieldGate {
  let gate: Promise<void> | undefined;
  let sliceStart = performance.now();
  const resume = () => {
    if (sliceStart === 0) sliceStart = performance.now();
  };
  return {
    pass() {
      if (!gate) {
        resume();
        return undefined;
      }
      return (async () => {
        while (gate !== undefined) await gate;
        resume();
      })();
    },
    worked() {
      if (!gate && performance.now() - sliceStart >= afterMs) {
        sliceStart = 0;
        gate = new Promise<void>((r) =>
          setImmediate(() => {
            gate = undefined;
            r();
          }),
        );
      }
    },
  };
}

/** What one cycle counts and collects while its symbols are fetched. */
interface CycleTally {
  ok: number;
  failed: number;
  streamed: number;
  waiting: number;
  rejected: number;
  toWrite: Bar[];
}

/** What the per-symbol step shares within one cycle. */
interface CycleStep {
  t0: number;
  /** The symbols whose turn it is (undefined: every symbol). */
  due: Set<string> | undefined;
  signal: AbortSignal;
  gate: YieldGate;
  tally: CycleTally;
}

function recordAttempts(metrics: CollectorOptions['metrics'], attempts: readonly SourceAttempt[]): void {
  for (const a of attempts) {
    if (a.outcome !== 'ok' && a.outcome !== 'failed') continue;
    const source = a.source as SourceName;
    metrics.fetchDuration.observe({ source }, (a.latencyMs ?? 0) / 1000);
    if (a.outcome === 'failed')
      metrics.fetchErrors.inc({ source, kind: isFetchError(a.error) ? a.error.kind : 'other' });
  }
}

function recordFailure(options: CollectorOptions, state: SymbolState, err: unknown): void {
  state.consecutiveFailures++;
  if (isSidecarError(err)) {
    const attempts = (err as { attempts?: readonly SourceAttempt[] }).attempts ?? [];
    state.lastAttempts = attempts;
    recordAttempts(options.metrics, attempts);
  }
  // Log the first failure of a streak and then every 60th, not every second.
  if (state.consecutiveFailures === 1 || state.consecutiveFailures % 60 === 0) {
    options.log.warn('every source failed; serving the last bars as stale', {
      symbol: state.symbol,
      consecutiveFailures: state.consecutiveFailures,
      reason: err instanceof Error ? err.message : String(err),
    });
  }
}

/** The per-symbol step: fetch from the first healthy source, ingest the answer, count the outcome. */
async function collectSymbol(
  options: CollectorOptions,
  stream: StreamWatch,
  fetched: Emitter<FetchedInfo>,
  symbol: string,
  step: CycleStep,
): Promise<void> {
  const { clock, planner } = options;
  const { tally } = step;
  const state = options.states.get(symbol);
  if (stream.delivers(symbol, step.t0)) tally.streamed++;
  if (step.due && !step.due.has(symbol)) {
    tally.waiting++;
    return;
  }
  try {
    const res = await fetchLatestWithFallback({
      slots: options.sources,
      breaker: options.breaker,
      symbol,
      timeframe: options.timeframe,
      limit: LATEST_LIMIT,
      now: () => clock.now(),
      signal: step.signal,
      ...(planner ? { admit: (slot) => planner.admit(slot.name, symbol, clock.now()) } : {}),
    });
    const closed = step.gate.pass();
    if (closed) await closed;
    const at = clock.now();
    recordAttempts(options.metrics, res.attempts);
    if (fetched.size) fetched.emit({ symbol, source: res.source, at, bars: res.value.length });
    state.lastAttempts = res.attempts;
    const { accepted, rejected } = options.ingest.apply(state, res.value, res.source, at);
    tally.rejected += rejected;
    for (const b of accepted) tally.toWrite.push(b);
    if (accepted.length > 0) options.metrics.barsIngested.inc({ source: res.source }, accepted.length);
    tally.ok++;
    step.gate.worked();
  } catch (err) {
    tally.failed++;
    if (options.isStopping()) return; // fetches cancelled by stop(): not a source failure
    recordFailure(options, state, err);
  }
}

/** The cycle's write step: its accepted bars to the sinks in one batch, then its new signals. Returns bars written. */
async function writeCycle(options: CollectorOptions, toWrite: Bar[]): Promise<number> {
  const { sinks } = options;
  const cluster = options.ownership;
  let writes = toWrite;
  let published = options.signals.drain();
  if (cluster && (writes.length > 0 || published.length > 0)) {
    // A paused owner whose leases lapsed must not overwrite the new owner's bars.
    const allowed = await cluster.fence([...writes.map((b) => b.symbol), ...published.map((s) => s.symbol)]);
    writes = writes.filter((b) => allowed.has(b.symbol));
    published = published.filter((s) => allowed.has(s.symbol));
  }
  if (writes.length > 0) await sinks.writeBars(writes);
  await sinks.publish(published);
  return writes.length;
}

/** Ingests one bar pushed by the stream and writes it (fenced in cluster mode) with the signals it made. */
function ingestStreamBar(options: CollectorOptions, stream: StreamWatch, bar: Bar, source: SourceName): void {
  const { sinks } = options;
  const state = options.states.find(bar.symbol);
  if (!state || bar.timeframe !== options.timeframe || options.isStopping()) return;
  if (options.ownership && !options.ownership.isCollecting(bar.symbol)) return;
  const now = options.clock.now();
  stream.saw(bar.symbol, bar.ts);
  const { accepted } = options.ingest.apply(state, [bar], source, now);
  if (accepted.length > 0) {
    const cluster = options.ownership;
    if (cluster) {
      const signals = options.signals.drain();
      void cluster.fence([bar.symbol, ...signals.map((s) => s.symbol)]).then(async (allowed) => {
        if (allowed.has(bar.symbol)) await sinks.writeBars(accepted);
        await sinks.publish(signals.filter((s) => allowed.has(s.symbol)));
      });
    } else {
      void sinks.writeBars(accepted).then(() => sinks.publish(options.signals.drain()));
    }
  }
}

export function createCollector(options: CollectorOptions): Collector {
  const { clock, metrics } = options;
  const tf = options.timeframe;
  // The stream delivers each period's bar once it closed. It counts as delivering while the bar of
  // the period that closed STALE_AFTER ago has arrived: silence is noticed STALE_AFTER after a
  // delivery is due, and the symbol's own polls (which keep its forming bar fresh meanwhile) carry on.
  const silentAfterMs = options.staleAfterMs ?? Math.max(2 * options.intervalMs, TIMEFRAME_MS[tf]);
  const stream = createStreamWatch(tf, silentAfterMs);
  const cycleEvents = createEmitter<CycleReport>();
  const fetchedEvents = createEmitter<FetchedInfo>();
  let cycleNo = 0;
  let lastCycleMs: number | null = null;
  let cycleAbort = new AbortController();

  async function runCycle(): Promise<CycleReport> {
    const t0 = clock.now();
    const cycle = ++cycleNo;
    const gate = createYieldGate(YIELD_AFTER_MS);
    // One signal per cycle, shared by every fetch (hence no listener limit): abort() cancels it so
    // in-flight requests end at once instead of running into their timeouts.
    cycleAbort = new AbortController();
    setMaxListeners(0, cycleAbort.signal);
    const cluster = options.ownership;
    if (cluster) await cluster.beforeCycle();
    const symbols = cluster ? options.symbols.filter((s) => cluster.isCollecting(s)) : options.symbols;
    // Streamed symbols are planned too: the stream brings each closed bar, the polls (within the
    // budget) keep the forming bar fresh, and take over alone when the stream falls silent.
    const due = options.planner?.beginCycle(symbols, t0);
    const tally: CycleTally = { ok: 0, failed: 0, streamed: 0, waiting: 0, rejected: 0, toWrite: [] };
    const step: CycleStep = { t0, due, signal: cycleAbort.signal, gate, tally };
    await forEachLimited(symbols, options.fetchConcurrency, (symbol) =>
      collectSymbol(options, stream, fetchedEvents, symbol, step),
    );
    const barsWritten = await writeCycle(options, tally.toWrite);
    const durationMs = clock.now() - t0;
    lastCycleMs = durationMs;
    metrics.cycleDuration.observe(durationMs / 1000);
    options.afterCycle?.();
    const report: CycleReport = {
      cycle,
      startedAt: t0,
      durationMs,
      ok: tally.ok,
      failed: tally.failed,
      streamed: tally.streamed,
      waiting: tally.waiting,
      barsWritten,
      barsRejected: tally.rejected,
    };
    cycleEvents.emit(report);
    return report;
  }

  return {
    runCycle,
    onStreamBar: (bar, source) => ingestStreamBar(options, stream, bar, source),
    abort() {
      cycleAbort.abort(new LifecycleError('sidecar stopping'));
    },
    get cycles() {
      return cycleNo;
    },
    get lastCycleMs() {
      return lastCycleMs;
    },
    onCycle: cycleEvents.on,
    onFetched: fetchedEvents.on,
  };
}
