import {
  FetchError,
  type Bar,
  TIMEFRAMES,
  TIMEFRAME_MS,
  alignTs,
  type SourceName,
  type Timeframe,
} from '@pipeline/core';
import { withFallback } from './fallback';
import { createSlicer } from './slice';
import {
  type BarStorePort,
  type BreakerPort,
  type MarketCalendar,
  type SourceSlot,
  type SymbolPort,
  type ValidatorPort,
} from '../ports';
import { type Logger } from '../wiring/logger';

export interface BootstrapProgress {
  /** Chunks (about one day of one symbol each) planned and done over all symbols. */
  chunksPlanned: number;
  chunksDone: number;
  /** 0..1 */
  fraction: number;
  bars: number;
  /** Symbol being fetched now, or null when finished. */
  current: string | null;
  failedChunks: number;
  done: boolean;
}

export interface BootstrapReport {
  chunksPlanned: number;
  chunksDone: number;
  failedChunks: number;
  bars: number;
  /** Bars stored per timeframe (coarser ones where no source keeps fine history that far back). */
  barsByTimeframe: Partial<Record<Timeframe, number>>;
  bySource: Partial<Record<SourceName, number>>;
}

export interface BootstrapInput {
  symbols: readonly string[];
  timeframe: Timeframe;
  /** Inclusive start, epoch ms. */
  from: number;
  /** Exclusive end, epoch ms. */
  to: number;
  sources: readonly SourceSlot[];
  breaker: BreakerPort;
  store: BarStorePort;
  validator: ValidatorPort;
  now: () => number;
  /** Each symbol's trading calendar, so closed hours are not fetched as gaps. @default '24x7' */
  calendarFor?: (symbol: string) => MarketCalendar;
  onProgress?: (p: BootstrapProgress) => void;
  /** A chunk that no source could deliver, or whose group's write failed (the run goes on with the next). */
  onChunkError?: (info: { symbol: string; from: number; to: number; error: unknown }) => void;
  /** Checked before each fetch and each hand-over to the store: see {@link runBootstrap} for what a stop leaves. */
  isCancelled?: () => boolean;
  /**
   * Called when the last write group of a symbol is settled (its chunks written or failed), in plan
   * order: its history is as complete as this run makes it (the start warms it meanwhile). Not called
   * for symbols with nothing to fetch, nor for a symbol whose last group a stop left unwritten. With
   * `keepNewest`, `history` is what the store now holds of the symbol at `timeframe`, as this run
   * fetched, validated and wrote it (oldest first): every stored bar when fewer than `keepNewest`
   * were, else the newest `keepNewest` of them. It is given only when the store held no bar of the
   * symbol at `timeframe` before this run and every chunk of it was written whole (no failure,
   * nothing refused, bars in order), so it equals `store.latest(symbol, timeframe, keepNewest)`;
   * otherwise `history` is undefined. @default none
   */
  onSymbolDone?: (symbol: string, history?: readonly Bar[]) => void;
  /**
   * Bars per symbol kept for `onSymbolDone`'s `history` (the warm start's read, not done again).
   * @default 0 (none kept)
   */
  keepNewest?: number;
  /** Expected bars per write group at most (one chunk at least): {@link BOOTSTRAP_GROUP_BARS}. */
  groupBars?: number;
  /** Write groups with the store at once, at least 1: {@link BOOTSTRAP_WRITES_IN_FLIGHT}. */
  writesInFlight?: number;
}

/** A piece of a gap inside one aligned chunk window; `key` (the window start) is stable across restarts. */
interface Chunk {
  symbol: string;
  key: number;
  from: number;
  to: number;
}

/** Store key remembering the chunk windows no source could fill at the base timeframe. */
export const bootstrapStateKey = (symbol: string, timeframe: Timeframe) =>
  `sidecar:bootstrap:${symbol}:${timeframe}`;
interface BootstrapState {
  /** Window starts already tried that gave no bars at the base timeframe (coarser ones may be stored). */
  exhausted: number[];
}
const MAX_EXHAUSTED = 20_000;

/** Window size: about 1,000 bars or one day, whichever is longer. */
export function chunkWindowMs(timeframe: Timeframe): number {
  return Math.max(86_400_000, 1000 * TIMEFRAME_MS[timeframe]);
}

/**
 * What to fetch for one symbol: the store's calendar-aware gaps in [from, to) cut on fixed windows,
 * newest first, minus windows an earlier run found no source could fill. Whatever an interrupted
 * run flushed is no longer a gap, so a restart resumes where it stopped.
 */
export async function planChunks(
  store: BarStorePort,
  symbol: string,
  timeframe: Timeframe,
  from: number,
  to: number,
  calendar: MarketCalendar = '24x7',
): Promise<Chunk[]> {
  return (await planSymbol(store, symbol, timeframe, from, to, calendar)).chunks;
}

/** {@link planChunks}, and whether the store held any bar of the symbol at `timeframe`. */
async function planSymbol(
  store: BarStorePort,
  symbol: string,
  timeframe: Timeframe,
  from: number,
  to: number,
  calendar: MarketCalendar = '24x7',
): Promise<{ chunks: Chunk[]; stored: boolean }> {
  const size = chunkWindowMs(timeframe);
  const exhausted = new Set(
    (await store.getState<BootstrapState>(bootstrapStateKey(symbol, timeframe)))?.exhausted ?? [],
  );
  const out: Chunk[] = [];
  for (const gap of await store.gaps({ symbol, timeframe, from, to }, calendar)) {
    for (let key = Math.floor(gap.from / size) * size; key < gap.to; key += size) {
      if (exhausted.has(key)) continue;
      out.push({ symbol, key, from: Math.max(key, gap.from), to: Math.min(key + size, gap.to) });
    }
  }
  // A newest row still marked forming whose period is over was cut off by a crash before its final
  // version was flushed: fetch that bar again so the file does not keep the snapshot forever.
  const [newest] = await store.latest(symbol, timeframe, 1);
  if (newest && !newest.final && newest.ts + TIMEFRAME_MS[timeframe] <= to && newest.ts >= from) {
    const covered = out.some((c) => c.from <= newest.ts && newest.ts < c.to);
    if (!covered)
      out.push({
        symbol,
        key: Math.floor(newest.ts / size) * size,
        from: newest.ts,
        to: newest.ts + TIMEFRAME_MS[timeframe],
      });
  }
  return { chunks: out.sort((a, b) => b.from - a.from), stored: newest !== undefined };
}

/** The finest timeframe at or above `base` that `slot` serves with history reaching back to `from`. */
export function finestTimeframeFor(
  slot: SourceSlot,
  base: Timeframe,
  from: number,
  now: number,
): Timeframe | null {
  const caps = slot.fetcher.capabilities;
  for (const tf of TIMEFRAMES.slice(TIMEFRAMES.indexOf(base))) {
    if (!caps.timeframes.includes(tf)) continue;
    const depth = caps.historyDepthMs[tf];
    if (depth === undefined || now - from <= depth) return tf;
  }
  return null;
}

/**
 * Bars (expected at the base timeframe) of one write group at most: a symbol's consecutive chunks
 * in plan order, fetched newest first and then written together, oldest bar first, in one
 * transaction (see {@link runBootstrap}). About two weeks of 1m bars: a longer history is written
 * in several groups, the newest first.
 */
export const BOOTSTRAP_GROUP_BARS = 20_000;

/**
 * Write groups handed to the store and not yet settled, at most. With two, the next group is
 * already with the store's writer (SQLite's thread, which runs them one after the other in the
 * order given) when it finishes one, instead of waiting for the event loop to take the reply and
 * hand the next over; the following group is fetched and validated meanwhile.
 */
export const BOOTSTRAP_WRITES_IN_FLIGHT = 2;

/** One chunk as fetched and validated, not yet written. */
interface FetchedChunk {
  tf: Timeframe;
  source: SourceName;
  bars: Bar[];
}

/** A chunk's fetch: its validated bars, or why no source delivered it. */
type ChunkResult = { chunk: Chunk; fetched: FetchedChunk } | { chunk: Chunk; error: unknown };

/** Consecutive chunks of one symbol in plan order (newest first), written in one transaction. */
interface Group {
  symbol: string;
  chunks: Chunk[];
}

/** A group handed to the store: what settling it needs, without its bars. */
interface HandedGroup {
  group: Group;
  /** Bars handed over. */
  rows: number;
  written: Promise<number>;
  /** Per chunk in plan order: its bar count, timeframe and source, or why it was not fetched. */
  chunks: (
    | { chunk: Chunk; tf: Timeframe; source: SourceName; bars: number }
    | { chunk: Chunk; tf: null; error: unknown }
  )[];
}

/** Cuts the plan (grouped by symbol) into write groups of at most `maxBars` expected bars (one chunk at least). */
function groupChunks(chunks: readonly Chunk[], timeframe: Timeframe, maxBars: number): Group[] {
  const out: Group[] = [];
  const tfMs = TIMEFRAME_MS[timeframe];
  let group: Group | undefined;
  let bars = 0;
  for (const chunk of chunks) {
    const n = Math.max(1, Math.ceil((chunk.to - chunk.from) / tfMs));
    if (!group || group.symbol !== chunk.symbol || bars + n > maxBars) {
      group = { symbol: chunk.symbol, chunks: [] };
      out.push(group);
      bars = 0;
    }
    group.chunks.push(chunk);
    bars += n;
  }
  return out;
}

/** A group's bars oldest first: its fetched chunks' bars (each oldest first) in reverse plan order. */
function groupBars(results: readonly ChunkResult[]): Bar[] {
  const withBars = results.filter((r) => 'fetched' in r && r.fetched.bars.length > 0);
  const [only] = withBars;
  if (withBars.length === 1 && only && 'fetched' in only) return only.fetched.bars;
  const out: Bar[] = [];
  for (let i = results.length - 1; i >= 0; i--) {
    const r = results[i];
    if (r && 'fetched' in r) for (const bar of r.fetched.bars) out.push(bar);
  }
  return out;
}

/**
 * Kept bars as columns: ts, open, high, low, close, volume, quality per bar in `num`. A group's bars
 * are packed when it is handed to the store and the Bar objects are dropped there: held until the
 * write was settled, they lived through several scavenges and were promoted, and the old generation
 * filled with them. Typed arrays keep their contents off the collected heap; the Bars are built
 * again at the hand-over to the warm start.
 */
interface PackedChunk {
  n: number;
  num: Float64Array;
  final: Uint8Array;
  /** Every bar's source: one name when they share it (the usual case), else one per bar. */
  source: SourceName | SourceName[];
}
const PACKED_WIDTH = 7;

/** Packs bars[from..] (oldest first). */
function packChunk(bars: readonly Bar[], from: number): PackedChunk {
  const n = bars.length - from;
  const num = new Float64Array(n * PACKED_WIDTH);
  const final = new Uint8Array(n);
  let source: SourceName | SourceName[] = bars[from]?.source ?? 'synthetic';
  for (let i = 0; i < n; i++) {
    const bar = bars[from + i];
    if (!bar) continue;
    const o = i * PACKED_WIDTH;
    num[o] = bar.ts;
    num[o + 1] = bar.open;
    num[o + 2] = bar.high;
    num[o + 3] = bar.low;
    num[o + 4] = bar.close;
    num[o + 5] = bar.volume;
    num[o + 6] = bar.quality;
    final[i] = bar.final ? 1 : 0;
    if (typeof source === 'string' && bar.source !== source) source = bars.slice(from).map((b) => b.source);
  }
  return { n, num, final, source };
}

/** What runBootstrap keeps of a symbol for its hand-over (see onSymbolDone). */
interface KeptHistory {
  /** The newest bars of the groups handed over, packed, newest group first (each oldest first). */
  chunks: PackedChunk[];
  /** Bars handed over at the base timeframe over all its groups (kept or not). */
  count: number;
  /** ts of the oldest bar handed over so far (the next group's bars must all be older). */
  oldest: number;
}

/**
 * The newest `limit` kept bars, oldest first, as Bars of the same fields in the same order as the
 * store's `latest()` builds them.
 */
function newestKept(k: KeptHistory, limit: number, symbol: string, timeframe: Timeframe): Bar[] {
  const out = new Array<Bar>(Math.min(k.count, limit));
  let o = out.length;
  for (const { n, num, final, source } of k.chunks) {
    for (let i = n - 1; i >= 0 && o > 0; i--) {
      const x = i * PACKED_WIDTH;
      out[--o] = {
        symbol,
        timeframe,
        // Indices below n * PACKED_WIDTH: always defined.
        ts: num[x] ?? NaN,
        open: num[x + 1] ?? NaN,
        high: num[x + 2] ?? NaN,
        low: num[x + 3] ?? NaN,
        close: num[x + 4] ?? NaN,
        volume: num[x + 5] ?? NaN,
        source: typeof source === 'string' ? source : (source[i] ?? 'synthetic'),
        final: final[i] === 1,
        quality: num[x + 6] ?? NaN,
      };
    }
  }
  return out;
}

/**
 * Scores a fetched chunk and keeps its usable bars with repairs applied, as `validateHistory`
 * (ports.ts) does, with less garbage per bar: no index/bar pair per bar, no repair map when nothing
 * was repaired, and a bar accepted as it is with the score it already carries is kept itself (the
 * fetcher's bars are new objects nobody else holds); only a repaired or re-scored bar is copied,
 * field by field (the eleven fields the store keeps, the object the warm start's read would build).
 */
function validateChunk(validator: ValidatorPort, bars: readonly Bar[]): Bar[] {
  if (bars.length === 0) return [];
  const r = validator.validateSeries(bars);
  const repairs = r.repairs.length > 0 ? new Map(r.repairs.map((x) => [x.index, x])) : undefined;
  const out: Bar[] = [];
  for (let i = 0; i < bars.length; i++) {
    const bar = bars[i];
    if (!bar || r.status[i] === 2) continue;
    const fix = repairs?.get(i);
    const quality = r.quality[i] ?? NaN; // one score per bar
    if (!fix && quality === bar.quality) {
      out.push(bar);
      continue;
    }
    out.push({
      symbol: bar.symbol,
      timeframe: bar.timeframe,
      ts: bar.ts,
      open: bar.open,
      high: fix ? fix.high : bar.high,
      low: fix ? fix.low : bar.low,
      close: bar.close,
      volume: fix ? fix.volume : bar.volume,
      source: bar.source,
      final: bar.final,
      quality,
    });
  }
  return out;
}

/** Fetches one chunk from the first source that has it (at its finest timeframe that far back) and validates it. */
async function fetchChunk(input: BootstrapInput, chunk: Chunk): Promise<FetchedChunk> {
  const { validator, timeframe } = input;
  const res = await withFallback({
    slots: input.sources,
    breaker: input.breaker,
    symbol: chunk.symbol,
    // History may come at a coarser timeframe than the live one: each source picks its own.
    timeframe: null,
    call: async (slot, signal) => {
      const tf = finestTimeframeFor(slot, timeframe, chunk.from, input.now());
      if (!tf) {
        throw new FetchError({
          kind: 'not_supported',
          source: slot.name,
          symbol: chunk.symbol,
          message: `no history back to ${new Date(chunk.from).toISOString()}`,
        });
      }
      const from = alignTs(chunk.from, tf);
      return {
        tf,
        bars: await slot.fetcher.fetchHistory({
          symbol: chunk.symbol,
          timeframe: tf,
          from,
          to: Math.max(chunk.to, from + TIMEFRAME_MS[tf]),
          signal,
        }),
      };
    },
    now: input.now,
  });
  return { tf: res.value.tf, source: res.source, bars: validateChunk(validator, res.value.bars) };
}

/** Fetches a group's chunks one at a time, in plan order; stops early (null) once the run is cancelled. */
async function fetchGroup(
  input: BootstrapInput,
  group: Group,
  slice: () => Promise<void> | undefined,
): Promise<ChunkResult[] | null> {
  const results: ChunkResult[] = [];
  for (const chunk of group.chunks) {
    if (input.isCancelled?.()) return null;
    await slice();
    try {
      results.push({ chunk, fetched: await fetchChunk(input, chunk) });
    } catch (error) {
      results.push({ chunk, error });
    }
  }
  return results;
}

/** Hands bars to the store now (the call packs and posts them before returning); the result is observed later. */
function handOver(store: BarStorePort, bars: readonly Bar[]): Promise<number> {
  let written: Promise<number>;
  try {
    written = bars.length > 0 ? store.backfill(bars) : Promise.resolve(0);
  } catch (error) {
    written = Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  // Settled in plan order, perhaps after it fails: not an unhandled rejection meanwhile.
  written.catch(() => undefined);
  return written;
}

/**
 * Every symbol's missing chunks in plan order (grouped by symbol), and the symbols with no stored bar
 * at the timeframe before this run, whose written bars are kept for the hand-over (see onSymbolDone).
 */
async function planRun(
  input: BootstrapInput,
  keepNewest: number,
  slice: () => Promise<void> | undefined,
): Promise<{ chunks: Chunk[]; kept: Map<string, KeptHistory> }> {
  const chunks: Chunk[] = [];
  const kept = new Map<string, KeptHistory>();
  for (const symbol of input.symbols) {
    const plan = await planSymbol(
      input.store,
      symbol,
      input.timeframe,
      input.from,
      input.to,
      input.calendarFor?.(symbol),
    );
    for (const c of plan.chunks) chunks.push(c);
    if (keepNewest > 0 && !plan.stored && plan.chunks.length > 0)
      kept.set(symbol, { chunks: [], count: 0, oldest: Infinity });
    await slice();
  }
  return { chunks, kept };
}

/**
 * Fetches what the store lacks over [from, to) for every symbol, chunk by chunk, each from the
 * first source that has it (breakers, budgets and fallback as in the live loop) at the finest
 * timeframe that source keeps that far back. A symbol's chunks are fetched newest first and written
 * in groups ({@link BOOTSTRAP_GROUP_BARS}: its whole history when it is short), each group in one
 * transaction with its bars oldest first, groups in plan order (newest group first). Up to
 * {@link BOOTSTRAP_WRITES_IN_FLIGHT} groups are with the store while the next one is fetched and
 * validated. Chunks are counted, reported and remembered as exhausted in plan order once their
 * group's write is settled.
 *
 * A stop (`isCancelled`) hands no further group to the store: the groups it has are written and
 * reported, a group being fetched is dropped. A crash leaves each group wholly written or not at
 * all. Either way the store then holds whole groups, so exactly the chunks reported done (and
 * failed ones' gaps stay): a restart plans the rest.
 * The loop is handed back every few ms (see slice.ts). Also used for live gap repair.
 */
export async function runBootstrap(input: BootstrapInput): Promise<BootstrapReport> {
  const { store, timeframe } = input;
  const keepNewest = input.onSymbolDone ? Math.max(0, input.keepNewest ?? 0) : 0;
  const inFlight = Math.max(1, input.writesInFlight ?? BOOTSTRAP_WRITES_IN_FLIGHT);
  const slice = createSlicer();
  const { chunks, kept } = await planRun(input, keepNewest, slice);
  const groups = groupChunks(chunks, timeframe, input.groupBars ?? BOOTSTRAP_GROUP_BARS);
  /** Each symbol's last group in plan order (chunks come grouped by symbol). */
  const lastGroup = new Map<string, Group>();
  for (const g of groups) lastGroup.set(g.symbol, g);
  const report: BootstrapReport = {
    chunksPlanned: chunks.length,
    chunksDone: 0,
    failedChunks: 0,
    bars: 0,
    barsByTimeframe: {},
    bySource: {},
  };
  const progress = (current: string | null, done = false) =>
    input.onProgress?.({
      chunksPlanned: report.chunksPlanned,
      chunksDone: report.chunksDone,
      fraction: report.chunksPlanned === 0 ? 1 : report.chunksDone / report.chunksPlanned,
      bars: report.bars,
      current,
      failedChunks: report.failedChunks,
      done,
    });

  /**
   * A group of `symbol` is handed to the store (`bars` oldest first): its bars at the base timeframe
   * are packed while fewer than keepNewest are, checked always. The store upserts, so the kept bars
   * are what it holds only if every group comes whole, at `timeframe`'s own series, strictly older
   * than the group handed over before (newest group first); a failed or partial write drops the
   * symbol's kept bars when it is settled.
   */
  function keepGroup(group: Group, results: readonly ChunkResult[], bars: Bar[]): void {
    const k = kept.get(group.symbol);
    if (!k) return;
    if (!results.every((r) => 'fetched' in r)) {
      kept.delete(group.symbol);
      return;
    }
    // A coarser timeframe's bars are another series: only the base chunks' bars count.
    const base = results.every((r) => 'fetched' in r && r.fetched.tf === timeframe)
      ? bars
      : groupBars(results.filter((r) => 'fetched' in r && r.fetched.tf === timeframe));
    let next = k.oldest;
    for (let i = base.length - 1; i >= 0; i--) {
      const bar = base[i];
      if (!bar || bar.ts >= next || bar.symbol !== group.symbol || bar.timeframe !== timeframe) {
        kept.delete(group.symbol);
        return;
      }
      next = bar.ts;
    }
    k.oldest = next;
    if (k.count < keepNewest && base.length > 0)
      k.chunks.push(packChunk(base, Math.max(0, base.length - (keepNewest - k.count))));
    k.count += base.length;
  }

  /** Remembers a chunk that gave no bar at the base timeframe, unless it is recent (it may still fill). */
  async function markExhausted(chunk: Chunk): Promise<void> {
    // A recent window may still fill (a market reopening, a provider catching up): only older ones are given up on.
    if (chunk.key + 2 * chunkWindowMs(timeframe) >= input.now()) return;
    const key = bootstrapStateKey(chunk.symbol, timeframe);
    const state = (await store.getState<BootstrapState>(key)) ?? { exhausted: [] };
    await store.setState(key, { exhausted: [...state.exhausted, chunk.key].slice(-MAX_EXHAUSTED) });
  }

  /** A chunk failed (no source delivered it, or its group's write failed): counted, reported, still a gap. */
  function failChunk(chunk: Chunk, error: unknown): void {
    kept.delete(chunk.symbol); // written or not, whole or not: the warm start reads the store
    report.failedChunks++;
    input.onChunkError?.({ symbol: chunk.symbol, from: chunk.from, to: chunk.to, error });
  }

  /** Once its write settles: each chunk of the group counted, reported and (if empty) remembered, in plan order. */
  async function settleGroup(handed: HandedGroup): Promise<void> {
    const { group, chunks: settled, rows } = handed;
    let writeError: { error: unknown } | null = null;
    try {
      if ((await handed.written) !== rows) kept.delete(group.symbol); // some refused
    } catch (error) {
      writeError = { error };
    }
    for (const c of settled) {
      const { chunk } = c;
      if (c.tf === null) failChunk(chunk, c.error);
      else if (writeError && c.bars > 0) failChunk(chunk, writeError.error);
      else {
        try {
          if (c.tf !== timeframe || c.bars === 0) await markExhausted(chunk);
          report.bars += c.bars;
          report.barsByTimeframe[c.tf] = (report.barsByTimeframe[c.tf] ?? 0) + c.bars;
          report.bySource[c.source] = (report.bySource[c.source] ?? 0) + c.bars;
        } catch (error) {
          failChunk(chunk, error);
        }
      }
      report.chunksDone++;
      progress(chunk.symbol);
    }
    if (lastGroup.get(group.symbol) === group) {
      // The hand-over builds the kept bars and starts the symbol's warm: after a turn of the loop
      // if this reply's callback has had its slice (settles run from the store's replies, outside
      // the fetch loop's slicing).
      await slice();
      const k = kept.get(group.symbol);
      kept.delete(group.symbol);
      input.onSymbolDone?.(group.symbol, k ? newestKept(k, keepNewest, group.symbol, timeframe) : undefined);
    }
  }

  /**
   * Hands a fetched group to the store now and keeps only what its settling needs (each chunk's bar
   * count, timeframe and source; the kept bars packed): the Bar objects die young.
   */
  function handGroup(group: Group, results: readonly ChunkResult[]): HandedGroup {
    const bars = groupBars(results);
    const written = handOver(store, bars);
    if (kept.size > 0) keepGroup(group, results, bars);
    return {
      group,
      rows: bars.length,
      written,
      chunks: results.map((r) =>
        'fetched' in r
          ? { chunk: r.chunk, tf: r.fetched.tf, source: r.fetched.source, bars: r.fetched.bars.length }
          : { chunk: r.chunk, tf: null, error: r.error },
      ),
    };
  }

  // Settles chained one after the other in plan order (`tail`); at most `inFlight` groups with the store.
  let tail: Promise<void> = Promise.resolve();
  const settling: Promise<void>[] = [];
  /**
   * Fetches a group, waits for a place among the writes in flight and hands it over; null once the
   * run is stopped. Its own frame, so that the fetched bars are unreachable once it returns (a
   * variable of runBootstrap's would hold them until the next group's fetch).
   */
  async function nextGroup(group: Group): Promise<HandedGroup | null> {
    const results = await fetchGroup(input, group, slice);
    if (!results) return null;
    while (settling.length >= inFlight) await settling.shift();
    // The reply that made room ran its settle (and the symbol's warm) first: the hand-over (the
    // group's bars packed for the store) waits for a turn if the slice is spent.
    await slice();
    // A stop while waiting: this group is dropped, as one not yet fetched.
    if (input.isCancelled?.()) return null;
    return handGroup(group, results);
  }

  progress(chunks[0]?.symbol ?? null);
  for (const group of groups) {
    const handed = await nextGroup(group);
    if (!handed) break;
    tail = tail.then(() => settleGroup(handed));
    settling.push(tail);
  }
  await tail;
  progress(null, true);
  return report;
}

export interface StartBootstrapOptions extends Pick<
  BootstrapInput,
  | 'symbols'
  | 'timeframe'
  | 'sources'
  | 'breaker'
  | 'store'
  | 'validator'
  | 'now'
  | 'onSymbolDone'
  | 'keepNewest'
> {
  /** BOOTSTRAP_DAYS. */
  days: number;
  symbolPort: Pick<SymbolPort, 'calendar'>;
  onProgress: (progress: BootstrapProgress) => void;
  isCancelled: () => boolean;
  log: Logger;
}

/**
 * The start-up bootstrap: what the store lacks over the last BOOTSTRAP_DAYS up to the last closed
 * bar (the forming bar is the live loop's); failed chunks are logged throttled and retried on the
 * next start.
 */
export function runStartBootstrap(options: StartBootstrapOptions): Promise<BootstrapReport> {
  const { timeframe: tf, log } = options;
  const now = options.now();
  let chunkErrors = 0;
  return runBootstrap({
    symbols: options.symbols,
    timeframe: tf,
    from: alignTs(now - options.days * 86_400_000, tf),
    to: alignTs(now, tf),
    sources: options.sources,
    breaker: options.breaker,
    store: options.store,
    validator: options.validator,
    now: options.now,
    calendarFor: (symbol) => options.symbolPort.calendar(symbol),
    onProgress: options.onProgress,
    isCancelled: options.isCancelled,
    ...(options.onSymbolDone ? { onSymbolDone: options.onSymbolDone } : {}),
    ...(options.keepNewest !== undefined ? { keepNewest: options.keepNewest } : {}),
    onChunkError: ({ symbol, from, to, error }) => {
      if (++chunkErrors <= 5 || chunkErrors % 100 === 0) {
        log.warn('bootstrap chunk failed; it is retried on the next start', {
          symbol,
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          err: error,
          chunkErrors,
        });
      }
    },
  });
}
