// How commands reach Redis in as few round trips as possible: grouped by pool connection, one pipeline
// per connection (one per node on a Cluster), and Lua script calls with the NOSCRIPT fallback to EVAL.
import calculateSlot from 'cluster-key-slot';
import { type ChainableCommander, type Cluster } from 'ioredis';
import { isNoScript, isReplyError, type Conn, type ConnectionPool } from './connection-pool';
import { type LuaScript } from './lua';

/** One pipeline reply: the error or the result. */
export type Reply = [Error | null, unknown];

/** One script call: its key and arguments. */
export interface ScriptCall {
  key: string;
  args: Array<string | number | Buffer>;
}

export interface Batcher {
  /** Indexes of `items` grouped by the connection their symbol is pinned to, in first-seen order. */
  byConn: <T>(items: readonly T[], symbolOf: (item: T) => string) => Map<Conn, number[]>;
  runBatched: (
    op: string,
    c: Conn,
    commands: ReadonlyArray<{ key: string; add: (p: ChainableCommander) => void }>,
  ) => Promise<Reply[]>;
  runScripts: (op: string, c: Conn, script: LuaScript, calls: readonly ScriptCall[]) => Promise<Reply[]>;
  /**
   * The reply's result, or the mapped error thrown. Takes `replies[j]` as read: runBatched answers one
   * reply per command, and a missing one (never seen) fails as "no reply", as runBatched's own gaps do.
   */
  replyOrThrow: (op: string, c: Conn, reply: Reply | undefined) => unknown;
}

export function createBatcher(pool: ConnectionPool, cluster: Cluster | null): Batcher {
  const { connFor, fail, succeeded } = pool;
  /** Indexes of `items` grouped by the connection their symbol is pinned to, in first-seen order. */
  const byConn = <T>(items: readonly T[], symbolOf: (item: T) => string): Map<Conn, number[]> => {
    const groups = new Map<Conn, number[]>();
    items.forEach((item, i) => {
      const c = connFor(symbolOf(item));
      const list = groups.get(c);
      if (list) list.push(i);
      else groups.set(c, [i]);
    });
    return groups;
  };

  /**
   * Runs commands on one connection as few pipelines as possible: one on a standalone Redis; on a
   * cluster one per node (ioredis sends a whole pipeline to one node, so keys of other nodes must not
   * share it). Every pipeline is handed to ioredis before the first `await`, so commands of one
   * connection reach Redis in call order.
   */
  const runBatched = async (
    op: string,
    c: Conn,
    commands: ReadonlyArray<{ key: string; add: (p: ChainableCommander) => void }>,
  ): Promise<Reply[]> => {
    const groups = new Map<string, number[]>();
    commands.forEach((cmd, i) => {
      let g = '';
      if (cluster) {
        const slot = calculateSlot(cmd.key);
        g = cluster.slots[slot]?.join(';') ?? `slot:${slot}`;
      }
      const list = groups.get(g);
      if (list) list.push(i);
      else groups.set(g, [i]);
    });
    const replies = new Array<Reply>(commands.length);
    const settled = await Promise.allSettled(
      [...groups.values()].map(async (indexes) => {
        const p = c.client.pipeline();
        for (const i of indexes) commands[i]?.add(p); // indexes come from commands
        const res = (await p.exec()) ?? [];
        indexes.forEach((i, j) => (replies[i] = res[j] ?? [new Error('no reply'), null]));
      }),
    );
    const lost = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (lost) fail(op, c, lost.reason);
    if (replies.every((r) => r[0] === null || isReplyError(r[0]) || isNoScript(r[0]))) succeeded(c);
    return replies;
  };

  /** Runs one script call per entry on one connection; any NOSCRIPT (fresh server, failover) is retried with EVAL. */
  const runScripts = async (
    op: string,
    c: Conn,
    script: LuaScript,
    calls: readonly ScriptCall[],
  ): Promise<Reply[]> => {
    const replies = await runBatched(
      op,
      c,
      calls.map((s) => ({ key: s.key, add: (p) => void p.evalsha(script.sha, 1, s.key, ...s.args) })),
    );
    const missing = calls.flatMap((call, i) => (isNoScript(replies[i]?.[0]) ? [{ i, call }] : []));
    if (missing.length > 0) {
      const retried = await runBatched(
        op,
        c,
        missing.map(({ call }) => ({
          key: call.key,
          add: (p) => void p.eval(script.source, 1, call.key, ...call.args),
        })),
      );
      // runBatched answers one reply per command, in order.
      retried.forEach((reply, j) => {
        const m = missing[j];
        if (m !== undefined) replies[m.i] = reply;
      });
    }
    return replies;
  };

  const replyOrThrow = (op: string, c: Conn, reply: Reply | undefined): unknown => {
    const [err, value] = reply ?? [new Error('no reply'), null];
    if (err) fail(op, c, err);
    return value;
  };

  return { byConn, runBatched, runScripts, replyOrThrow };
}
