// The write path of the Redis cache: one `writeBars` call becomes script calls per series (chunked),
// grouped per pool connection, each connection's share sent as one pipeline followed, in that
// connection's turn, by one fan-out XADD of the bars it accepted. Results are counted per bar.
import { type Bar } from '@pipeline/core';
import { type Batcher, type Reply, type ScriptCall } from './batching';
import { encodeBar, encodeFanoutBars } from './codec';
import { type Conn, type ConnectionPool } from './connection-pool';
import { CacheClosedError, CacheUnavailableError } from './errors';
import {
  type BarsRejectedEvent,
  type BarsWrittenEvent,
  type CacheStats,
  type WriteBarsResult,
} from './hot-cache';
import { type KeyLayout } from './keys';
import { WRITE_BARS_SCRIPT } from './lua';
import { planWrite } from './write-plan';

/** Bars per script call: bounds the argument list; atomicity is per call of this size. */
const MAX_BARS_PER_SCRIPT_CALL = 10_000;

export interface BarWriterDeps {
  pool: ConnectionPool;
  batcher: Batcher;
  keys: KeyLayout;
  maxBars: number;
  replaceWindow: number;
  fanout: boolean;
  streamMaxLen: number;
  stats: CacheStats;
  onWritten(event: BarsWrittenEvent): void;
  onRejected(event: BarsRejectedEvent): void;
  reportError: (err: unknown) => void;
}

/** The cache's `writeBars`. */
export function createBarWriter(deps: BarWriterDeps): (bars: readonly Bar[]) => Promise<WriteBarsResult> {
  const { pool, batcher, keys, maxBars, replaceWindow, stats, reportError } = deps;
  const { check, fail, connFor, conns } = pool;
  const { byConn, runScripts } = batcher;
  const opts = { fanout: deps.fanout, streamMaxLen: deps.streamMaxLen };

  /**
   * The share of one `writeBars` call that goes to one connection: its scripts in one pipeline (one
   * per node on a cluster), then, in this connection's turn, one XADD of the bars it accepted.
   */
  const writeOnConn = async (
    op: string,
    c: Conn,
    calls: ReadonlyArray<ScriptCall & { bars: Bar[] }>,
  ): Promise<{ replies: Reply[] }> => {
    if (!opts.fanout) return { replies: await runScripts(op, c, WRITE_BARS_SCRIPT, calls) };
    // Take the fan-out turn now, synchronously, in the order the scripts are handed to ioredis.
    const previous = c.fanoutTail;
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    // The next call's turn comes after ours and every earlier one, even if ours sends nothing.
    c.fanoutTail = previous.then(() => mine);
    try {
      const replies = await runScripts(op, c, WRITE_BARS_SCRIPT, calls);
      const accepted: Bar[] = [];
      replies.forEach((reply, i) => {
        if (reply[0]) return;
        const status = (reply[1] as [number, number, number, number, string])[4];
        // One status character per bar of the call: x = refused.
        calls[i]?.bars.forEach((bar, j) => {
          if (status.charCodeAt(j) !== 120 /* x */) accepted.push(bar);
        });
      });
      if (accepted.length === 0) return { replies };
      await previous;
      // ioredis writes the XADD to the socket synchronously, so releasing the turn right after keeps the order.
      const sent = c.client.xadd(
        keys.stream('bars'),
        'MAXLEN',
        '~',
        opts.streamMaxLen,
        '*',
        'bars',
        encodeFanoutBars(accepted),
      );
      release();
      try {
        await sent;
      } catch (err) {
        // The bars are stored; a lost fan-out entry must not fail the write. Followers resync from the lists.
        reportError(new CacheUnavailableError('writeBars/fanout', c.state, err));
      }
      return { replies };
    } finally {
      release();
    }
  };

  const writeBars = async (bars: readonly Bar[]): Promise<WriteBarsResult> => {
    const op = 'writeBars';
    if (pool.isClosed) throw new CacheClosedError(op);
    const plan = planWrite(bars);
    const calls: Array<ScriptCall & { symbol: string; bars: Bar[] }> = [];
    for (const s of plan.series) {
      const key = keys.bars(s.symbol, s.timeframe);
      for (let i = 0; i < s.bars.length; i += MAX_BARS_PER_SCRIPT_CALL) {
        const chunk = s.bars.slice(i, i + MAX_BARS_PER_SCRIPT_CALL);
        const args: Array<string | number | Buffer> = [maxBars, replaceWindow];
        for (const b of chunk) args.push(encodeBar(b));
        calls.push({ key, args, symbol: s.symbol, bars: chunk });
      }
    }
    const groups = byConn(calls, (call) => call.symbol);
    // All or nothing up front: one connection down fails the whole call before anything is sent.
    check(op, groups.size > 0 ? groups.keys() : conns);
    const result: WriteBarsResult = {
      appended: 0,
      replaced: 0,
      refused: 0,
      invalid: plan.invalid.length,
      series: plan.series.length,
    };
    const accepted: Bar[] = [];
    const refused: Bar[] = [];
    if (calls.length > 0) {
      const failedBefore = stats.failedCalls;
      const entries = [...groups.entries()];
      const settled = await Promise.allSettled(
        entries.map(([c, indexes]) =>
          writeOnConn(
            op,
            c,
            indexes.map((i) => calls[i]).filter((call) => call !== undefined),
          ),
        ),
      );
      // Count what did land before throwing: the other series (and connections) are committed.
      const replies = new Array<Reply | undefined>(calls.length);
      let firstError: { c: Conn; err: unknown } | null = null;
      settled.forEach((s, g) => {
        const entry = entries[g]; // settled has one result per entry
        if (entry === undefined) return;
        const [c, indexes] = entry;
        if (s.status === 'rejected') {
          firstError ??= { c, err: s.reason };
          return;
        }
        indexes.forEach((i, j) => (replies[i] = s.value.replies[j]));
      });
      replies.forEach((reply, i) => {
        const call = calls[i]; // replies has one slot per call
        if (!reply || call === undefined) return;
        if (reply[0]) {
          firstError ??= { c: connFor(call.symbol), err: reply[0] };
          return;
        }
        const [a, r, x, , status] = reply[1] as [number, number, number, number, string];
        result.appended += a;
        result.replaced += r;
        result.refused += x;
        call.bars.forEach((bar, j) => {
          if (status.charCodeAt(j) === 120 /* x */) refused.push(bar);
          else accepted.push(bar);
        });
      });
      stats.barsAppended += result.appended;
      stats.barsReplaced += result.replaced;
      stats.barsRefused += result.refused;
      if (firstError) {
        stats.barsInvalid += result.invalid;
        const { c, err } = firstError as { c: Conn; err: unknown };
        // One call that threw counts once, however many connections failed under it.
        stats.failedCalls = failedBefore;
        fail(op, c, err);
      }
    }
    stats.barsInvalid += result.invalid;
    if (accepted.length > 0) deps.onWritten({ bars: accepted });
    if (refused.length > 0 || plan.invalid.length > 0) deps.onRejected({ refused, invalid: plan.invalid });
    return result;
  };
  return writeBars;
}
