// Collect: one collection cycle. Every symbol whose turn it is (the request planner) is fetched
// from its first healthy source, at most FETCH_CONCURRENCY at a time, streamed or not; answers are ingested as they
// arrive, with a time-based yield gate (yield-gate.ts) so HTTP readers are not starved; then the cycle's accepted
// bars go to the sinks in one batch and its new signals are published.
// Where the first source that may be asked has a batch endpoint (`fetchLatestMany`), the cycle asks
// it for up to `batchLatest.maxSymbols` symbols per request, through its breaker once per request,
// and ingests each answer's symbols back to back; a symbol the batch did not serve (its own error,
// an old answer, a failed request) falls back on its own to the next sources, as a poll would.
import { setMaxListeners } from 'node:events';
import {
  FetchError,
  TIMEFRAME_MS,
  alignTs,
  isFetchError,
  type Bar,
  type Clock,
  type SourceName,
  type Timeframe,
} from '@pipeline/core';
import { isBatchFetcher, type FetchLatestManyResult } from '@pipeline/fetchers';
import {
  AllSourcesFailedError,
  EmptyAnswerError,
  LifecycleError,
  isSidecarError,
  type SourceAttempt,
} from '../errors';
import { createEmitter, type Emitter } from '../events';
import { type BreakerPort, type MetricsPort, type SourceSlot } from '../ports';
import { type SymbolState, type SymbolStates } from '../state/symbol-state';
import { type SignalBook } from '../strategy/signals';
import { type Logger } from '../wiring/logger';
import { batchLimit, batchesLatest } from './batcher';
import {
  fetchLatestBatch,
  fetchLatestWithFallback,
  forEachLimited,
  isCurrentAnswer,
  skipReason,
} from './fallback';
import { type BarList, type Ingest } from './ingest';
import { type RequestPlanner } from './planner';
import { type Sinks } from './sinks';
import { createYieldGate, type YieldGate } from './yield-gate';

/** How many latest bars a poll asks for: the forming bar and the one before it (closes the previous). */
const LATEST_LIMIT = 3;

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

/** What one cycle counts and collects while its symbols are fetched. */
interface CycleTally {
  ok: number;
  failed: number;
  streamed: number;
  waiting: number;
  rejected: number;
  /**
   * The cycle's accepted bars, `toWrite.bars[0, toWrite.n)`, appended by ingest itself: sized for one
   * bar per symbol at the start of the cycle and filled by index (an array grown by push from empty
   * copied itself a dozen times at 20,000 symbols), trimmed to `n` before the write step.
   */
  toWrite: BarList;
  /** Bars accepted per source (the barsIngested counter is bumped once per source per cycle). */
  ingested: Map<SourceName, number>;
}

/** What the per-symbol step shares within one cycle. */
interface CycleStep {
  t0: number;
  /** The collector's clock as a function (one closure per cycle, not one per fetched symbol). */
  now: () => number;
  /** The symbols whose turn it is (undefined: every symbol). */
  due: ReadonlySet<string> | undefined;
  signal: AbortSignal;
  gate: YieldGate;
  tally: CycleTally;
}

/** Records the attempts from index `from` on (the ones before were recorded with their batch). */
function recordAttempts(
  metrics: CollectorOptions['metrics'],
  attempts: readonly SourceAttempt[],
  from = 0,
): void {
  for (let i = from; i < attempts.length; i++) {
    const a = attempts[i];
    if (a === undefined) continue;
    if (a.outcome !== 'ok' && a.outcome !== 'failed') continue;
    const source = a.source as SourceName;
    metrics.fetchDuration.observe({ source }, (a.latencyMs ?? 0) / 1000);
    if (a.outcome === 'failed')
      metrics.fetchErrors.inc({ source, kind: isFetchError(a.error) ? a.error.kind : 'other' });
  }
}

function recordFailure(options: CollectorOptions, state: SymbolState, err: unknown, recorded = 0): void {
  state.consecutiveFailures++;
  if (isSidecarError(err)) {
    const attempts = (err as { attempts?: readonly SourceAttempt[] }).attempts ?? [];
    state.lastAttempts = attempts;
    recordAttempts(options.metrics, attempts, recorded);
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

/** Ingests one symbol's answer and counts it (synchronous: no await between answer and signal). */
function absorb(
  options: CollectorOptions,
  fetched: Emitter<FetchedInfo>,
  state: SymbolState,
  bars: Bar[],
  source: SourceName,
  attempts: readonly SourceAttempt[],
  at: number,
  tally: CycleTally,
): void {
  if (fetched.size) fetched.emit({ symbol: state.symbol, source, at, bars: bars.length });
  state.lastAttempts = attempts;
  const out = tally.toWrite;
  const from = out.n;
  tally.rejected += options.ingest.apply(state, bars, source, at, out);
  const n = out.n - from;
  if (n > 0) tally.ingested.set(source, (tally.ingested.get(source) ?? 0) + n);
  tally.ok++;
}

/**
 * Fetches one symbol from its first healthy source (from `sources[from]` on, after the `prior`
 * attempts of a batch), ingests the answer and counts the outcome.
 */
async function fetchSymbol(
  options: CollectorOptions,
  fetched: Emitter<FetchedInfo>,
  symbol: string,
  step: CycleStep,
  from = 0,
  prior?: readonly SourceAttempt[],
): Promise<void> {
  const { clock, planner } = options;
  const state = options.states.get(symbol);
  const recorded = prior?.length ?? 0;
  try {
    // One object with every field (absent ones undefined, which the fallback reads as their
    // defaults): no spread of option objects per symbol.
    const res = await fetchLatestWithFallback({
      slots: options.sources,
      breaker: options.breaker,
      symbol,
      timeframe: options.timeframe,
      limit: LATEST_LIMIT,
      now: step.now,
      signal: step.signal,
      admit: planner ? (slot) => planner.admit(slot.name, symbol, clock.now()) : undefined,
      from: prior ? from : undefined,
      attempts: prior,
    });
    for (let paused = step.gate.pass(); paused; paused = step.gate.pass()) await paused;
    recordAttempts(options.metrics, res.attempts, recorded);
    absorb(options, fetched, state, res.value, res.source, res.attempts, clock.now(), step.tally);
    step.gate.worked();
  } catch (err) {
    step.tally.failed++;
    if (options.isStopping()) return; // fetches cancelled by stop(): not a source failure
    recordFailure(options, state, err, recorded);
  }
}

/** A settled promise for a symbol that needs no fetch (one, shared). */
const SETTLED: Promise<void> = Promise.resolve();

/**
 * The per-symbol step: counts a streamed or waiting symbol, else fetches it. Not `async`: it hands
 * back fetchSymbol's own promise (an async wrapper made a second promise per symbol per cycle).
 */
function collectSymbol(
  options: CollectorOptions,
  stream: StreamWatch,
  fetched: Emitter<FetchedInfo>,
  symbol: string,
  step: CycleStep,
): Promise<void> {
  const { tally } = step;
  if (stream.delivers(symbol, step.t0)) tally.streamed++;
  if (step.due && !step.due.has(symbol)) {
    tally.waiting++;
    return SETTLED;
  }
  return fetchSymbol(options, fetched, symbol, step);
}

/** Symbols per batch request of the cycle: the smallest `maxSymbols` of its batch sources; 0 when none. */
function batchSize(options: CollectorOptions): number {
  let size = 0;
  for (const slot of options.sources) {
    const batch = slot.fetcher.capabilities.batchLatest;
    if (batch && batchesLatest(slot.fetcher, options.timeframe))
      size = size === 0 ? batch.maxSymbols : Math.min(size, batch.maxSymbols);
  }
  return Math.max(0, Math.floor(size));
}

/**
 * One batch of the cycle's symbols, `due[from, to)`. The first source that may be asked now (breaker
 * closed, budget left, timeframe served) is asked for the symbols the planner admits in one batch
 * request, if it has a batch endpoint; every symbol it did not serve falls back on its own to the
 * sources after it. Without a batch endpoint at the front, each symbol is fetched on its own as in a
 * plain cycle. Loops are indexed: this runs a few times per cycle, mostly before V8 optimises it, and
 * a for-of there allocated an iterator result per symbol.
 */
async function collectBatch(
  options: CollectorOptions,
  fetched: Emitter<FetchedInfo>,
  due: readonly string[],
  from: number,
  to: number,
  step: CycleStep,
): Promise<void> {
  const { sources, breaker, timeframe, clock, planner, metrics } = options;
  const { tally, gate } = step;
  const before: SourceAttempt[] = [];
  let index = 0;
  for (; index < sources.length; index++) {
    const slot = sources[index];
    if (slot === undefined) break;
    const skip = skipReason(slot, breaker, timeframe);
    if (skip === null) break;
    before.push({ source: slot.name, outcome: skip });
  }
  const slot = sources[index];
  const fetcher = slot?.fetcher;
  if (!slot || !fetcher || !isBatchFetcher(fetcher) || !batchesLatest(fetcher, timeframe)) {
    await forEachLimited(due.slice(from, to), options.fetchConcurrency, (s) =>
      fetchSymbol(options, fetched, s, step),
    );
    return;
  }
  const source = slot.name;
  /** Symbols that go on to the next sources, each with its attempts so far. */
  const fallbacks: { symbol: string; prior: SourceAttempt[] }[] = [];
  const failed = (symbol: string, attempt: SourceAttempt) => {
    const prior = [...before, attempt];
    if (isFetchError(attempt.error) && !attempt.error.tryNextSource) {
      tally.failed++;
      const state = options.states.get(symbol);
      recordFailure(options, state, new AllSourcesFailedError(symbol, prior), prior.length);
    } else fallbacks.push({ symbol, prior });
  };
  // The request's symbols: an exact-size copy of the range, the ones the planner refuses left out.
  const asked = due.slice(from, to);
  if (planner) {
    const now = clock.now();
    let k = 0;
    for (let i = 0; i < asked.length; i++) {
      const s = asked[i];
      if (s === undefined) continue;
      if (planner.admit(source, s, now)) asked[k++] = s;
      else fallbacks.push({ symbol: s, prior: [...before, { source, outcome: 'skipped_budget' }] });
    }
    asked.length = k;
  }
  if (asked.length > 0) {
    const sentAt = clock.now();
    let answers: FetchLatestManyResult | undefined;
    let failure: unknown;
    try {
      answers = await fetchLatestBatch({
        source,
        fetcher,
        breaker,
        symbols: asked,
        timeframe,
        limit: batchLimit(fetcher, LATEST_LIMIT),
        sentAt,
        signal: step.signal,
      });
    } catch (err) {
      failure = err;
    }
    const at = clock.now();
    const latencyMs = at - sentAt;
    // One request: one observation (and one error) per batch, not per symbol.
    metrics.fetchDuration.observe({ source }, latencyMs / 1000);
    if (answers === undefined) {
      if (options.isStopping()) {
        tally.failed += asked.length + fallbacks.length;
        return; // cancelled by stop(): not a source failure
      }
      metrics.fetchErrors.inc({ source, kind: isFetchError(failure) ? failure.kind : 'other' });
      const code = codeOf(failure);
      const attempt: SourceAttempt = { source, outcome: 'failed', code, error: failure, latencyMs };
      for (let i = 0; i < asked.length; i++) {
        const s = asked[i];
        if (s !== undefined) failed(s, attempt);
      }
    } else {
      // Every symbol the batch served shares one attempts list.
      const served: readonly SourceAttempt[] = Object.freeze([
        ...before,
        { source, outcome: 'ok', latencyMs },
      ]);
      for (let i = 0; i < asked.length; i++) {
        const symbol = asked[i];
        if (symbol === undefined) continue;
        for (let paused = gate.pass(); paused; paused = gate.pass()) await paused;
        const got = answers.get(symbol);
        if (Array.isArray(got) && isCurrentAnswer(got, sentAt, timeframe)) {
          absorb(options, fetched, options.states.get(symbol), got, source, served, at, tally);
          gate.worked();
          continue;
        }
        const error =
          got === undefined
            ? new FetchError({
                kind: 'malformed',
                source,
                symbol,
                message: `the batch answer has no entry for ${symbol}`,
              })
            : Array.isArray(got)
              ? new EmptyAnswerError(source, symbol)
              : got;
        metrics.fetchErrors.inc({ source, kind: isFetchError(error) ? error.kind : 'other' });
        failed(symbol, { source, outcome: 'failed', code: codeOf(error), error, latencyMs });
      }
      // A reader that came in during the answers is served now, not after the next batch request
      // (which may need no I/O) or the cycle's write step.
      for (let paused = gate.settle(); paused; paused = gate.pass()) await paused;
    }
  }
  if (fallbacks.length > 0) {
    await forEachLimited(fallbacks, options.fetchConcurrency, (f) =>
      fetchSymbol(options, fetched, f.symbol, step, index + 1, f.prior),
    );
  }
}

function codeOf(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Every symbol of the cycle through batch requests of `size` symbols: the streamed and waiting ones
 * are counted first, the rest asked batch after batch (as many batches in flight as make up
 * FETCH_CONCURRENCY symbols, at least one), each answer ingested as it arrives.
 */
async function collectBatched(
  options: CollectorOptions,
  stream: StreamWatch,
  fetched: Emitter<FetchedInfo>,
  symbols: readonly string[],
  size: number,
  step: CycleStep,
): Promise<void> {
  const { tally } = step;
  // The symbols to ask, in one array sized once (trimmed after), batched as ranges of it: no array
  // per batch grown by push, no for-of iterator result per symbol (this runs once per cycle, mostly
  // before V8 optimises it).
  const asked = new Array<string>(symbols.length);
  let n = 0;
  for (let i = 0; i < symbols.length; i++) {
    const symbol = symbols[i];
    if (symbol === undefined) continue;
    if (stream.delivers(symbol, step.t0)) tally.streamed++;
    if (step.due && !step.due.has(symbol)) {
      tally.waiting++;
      continue;
    }
    asked[n++] = symbol;
  }
  asked.length = n;
  const starts: number[] = [];
  for (let from = 0; from < n; from += size) starts.push(from);
  await forEachLimited(starts, Math.max(1, Math.ceil(options.fetchConcurrency / size)), (from) =>
    collectBatch(options, fetched, asked, from, Math.min(n, from + size), step),
  );
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
  // Its own list (a stream bar is written at once, not with the cycle's), exact-size once trimmed.
  const out: BarList = { bars: [], n: 0 };
  options.ingest.apply(state, [bar], source, now, out);
  if (out.n > 0) {
    const accepted = out.bars;
    accepted.length = out.n;
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
    const gate = createYieldGate();
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
    const tally: CycleTally = {
      ok: 0,
      failed: 0,
      streamed: 0,
      waiting: 0,
      rejected: 0,
      // Room for one bar per symbol (the usual cycle); more are appended past it.
      toWrite: { bars: new Array<Bar>(due?.size ?? symbols.length), n: 0 },
      ingested: new Map(),
    };
    const step: CycleStep = { t0, now: () => clock.now(), due, signal: cycleAbort.signal, gate, tally };
    const size = batchSize(options);
    if (size > 0) await collectBatched(options, stream, fetchedEvents, symbols, size, step);
    else {
      await forEachLimited(symbols, options.fetchConcurrency, (symbol) =>
        collectSymbol(options, stream, fetchedEvents, symbol, step),
      );
    }
    for (const [source, n] of tally.ingested) metrics.barsIngested.inc({ source }, n);
    const toWrite = tally.toWrite.bars;
    toWrite.length = tally.toWrite.n;
    const barsWritten = await writeCycle(options, toWrite);
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
