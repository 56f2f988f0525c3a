// The client side of worker mode: a second connection on a worker_threads thread runs the write
// transactions, so that a flush does not block the caller's event loop. This class owns the thread,
// the job protocol (see worker-source.ts), the in-flight row count, back-pressure and the thread's
// death; what a failed job means for the store's buffer is decided by the store, through the hooks.
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { type SqliteStoreError } from './errors';
import { type ResolvedSqliteStoreOptions } from './options';
import { type PackedRows } from './pending-rows';
import { ROW_WIDTH, STRING_COLUMNS, type EncodedRows } from './row-encoding';
import { SERIES_SQL, upsertSharedSql, upsertSql } from './schema';
import { WORKER_SOURCE } from './worker-source';

/** What the store decides when a job settles. Called synchronously, in reply order. */
export interface WriterThreadHooks {
  /**
   * A flush job failed: give `requeue` back to the buffer (a newer version of a key, buffered since or
   * in one of the `later` jobs not answered yet, wins) and return the error the job rejects with.
   */
  flushFailed(
    requeue: PackedRows,
    rows: number,
    later: readonly PackedRows[],
    failure: Error,
  ): SqliteStoreError;
  /** A backfill job failed (nothing of it was written): the error it rejects with. */
  backfillFailed(rows: number, failure: Error): SqliteStoreError;
  /** A job committed. */
  succeeded(): void;
  /** The thread died (before its jobs are failed): report it. */
  died(cause: unknown, inflightRows: number): void;
}

interface Job {
  rows: number;
  /** Buffered rows of a flush job, given back to the buffer when the job fails. */
  requeue: PackedRows | null;
  resolve: (r: { rows: number; ms: number }) => void;
  reject: (e: SqliteStoreError) => void;
}

interface Reply {
  seq: number;
  ok: boolean;
  rows: number;
  ms: number;
  error?: { message: string; code?: string };
}

function driverPath(): string {
  // CommonJS (jest, dist/index.cjs) has __filename; the ESM build has import.meta.url instead.
  const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
  return createRequire(here).resolve('better-sqlite3');
}

export class WriterThread {
  readonly worker: Worker;
  private readonly replyPort: MessagePort;
  private readonly ctrl: Int32Array;
  private dead = false;
  private stopping = false;
  private readonly jobs = new Map<number, Job>();
  private inflight = 0;
  private seq = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly options: ResolvedSqliteStoreOptions,
    pragmas: readonly string[],
    private readonly hooks: WriterThreadHooks,
  ) {
    const { port1, port2 } = new MessageChannel();
    const ctrlBuffer = new SharedArrayBuffer(4);
    this.ctrl = new Int32Array(ctrlBuffer);
    this.replyPort = port1;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driverPath: driverPath(),
        path: options.path,
        pragmas,
        busyTimeoutMs: options.busyTimeoutMs,
        rowsPerStatement: options.rowsPerStatement,
        chunkSql: upsertSql(options.rowsPerStatement),
        sharedSql: upsertSharedSql(options.rowsPerStatement),
        oneSql: upsertSql(1),
        seriesSql: SERIES_SQL,
        width: ROW_WIDTH,
        stringColumns: STRING_COLUMNS,
        port: port2,
        ctrl: ctrlBuffer,
      },
      transferList: [port2],
    });
    port1.on('message', (m: Reply) => this.onReply(m));
    this.worker.on('error', (e) => this.onDeath(e));
    this.worker.on('exit', (code) => {
      if (!this.stopping) this.onDeath(new Error(`writer thread exited with code ${code}`));
    });
    this.refWorker();
  }

  /** True once the thread died or failed; the store then writes on the calling thread. */
  get failed(): boolean {
    return this.dead;
  }

  /** Rows of flush jobs handed to the thread and not yet answered. */
  get inflightRows(): number {
    return this.inflight;
  }

  /** Jobs not yet answered. */
  get pendingJobs(): number {
    return this.jobs.size;
  }

  /** Hands packed rows to the thread; `requeue` marks a flush job (its rows count as in flight). */
  post(encoded: EncodedRows, requeue: PackedRows | null): Promise<{ rows: number; ms: number }> {
    const seq = ++this.seq;
    const { data, strings } = encoded;
    const rows = data.length / ROW_WIDTH;
    return new Promise((resolve, reject) => {
      const job: Job = { rows, requeue, resolve, reject };
      this.jobs.set(seq, job);
      this.inflight += requeue ? rows : 0;
      this.refWorker();
      try {
        // Transferred, not cloned: structured-cloning 11 values per row was the main cost left on
        // the event loop in worker mode.
        this.worker.postMessage({ seq, kind: 'write', data, strings }, [data.buffer]);
      } catch (cause) {
        this.settle(seq, job, cause as Error);
      }
    });
  }

  /** Resolves when no job is in flight. */
  whenIdle(): Promise<void> {
    if (this.jobs.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Blocks (Atomics.wait) until the thread holds fewer than `limit` in-flight rows. */
  waitBelow(limit: number): void {
    const deadline = performance.now() + this.options.busyTimeoutMs + 10_000;
    while (this.inflight >= limit && !this.dead) {
      const seen = Atomics.load(this.ctrl, 0);
      this.drainReplies();
      if (this.inflight < limit) break;
      const remaining = deadline - performance.now();
      if (remaining <= 0) break;
      Atomics.wait(this.ctrl, 0, seen, Math.min(remaining, 100));
      this.drainReplies();
    }
  }

  /** Asks the thread to close its connection and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (!this.dead) {
      const exited = once(this.worker, 'exit');
      // Hold the process open until the thread has closed its connection (it is unref'd when idle).
      this.worker.ref();
      this.worker.postMessage({ kind: 'close' });
      await exited;
    }
    this.replyPort.close();
  }

  /** The thread holds the process open only while it has work, like an unref'd timer. */
  private refWorker(): void {
    if (this.jobs.size > 0) {
      this.worker.ref();
      this.replyPort.ref();
    } else {
      this.worker.unref();
      this.replyPort.unref();
    }
  }

  private onReply(m: Reply): void {
    const job = this.jobs.get(m.seq);
    if (!job) return;
    this.settle(
      m.seq,
      job,
      m.ok ? null : Object.assign(new Error(m.error?.message ?? 'write failed'), { code: m.error?.code }),
      m,
    );
  }

  private settle(seq: number, job: Job, failure: Error | null, reply?: Reply): void {
    this.jobs.delete(seq);
    if (job.requeue) this.inflight -= job.rows;
    this.refWorker();
    if (this.jobs.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    if (!failure) {
      this.hooks.succeeded();
      job.resolve({ rows: reply?.rows ?? job.rows, ms: reply?.ms ?? 0 });
      return;
    }
    if (!job.requeue) {
      job.reject(this.hooks.backfillFailed(job.rows, failure));
      return;
    }
    // The thread runs jobs in order: later jobs have not been answered yet.
    const later: PackedRows[] = [];
    for (const j of this.jobs.values()) if (j.requeue) later.push(j.requeue);
    job.reject(this.hooks.flushFailed(job.requeue, job.rows, later, failure));
  }

  private drainReplies(): void {
    for (let m = receiveMessageOnPort(this.replyPort); m; m = receiveMessageOnPort(this.replyPort)) {
      this.onReply(m.message as Reply);
    }
  }

  private onDeath(cause: unknown): void {
    if (this.dead) return;
    this.dead = true;
    this.drainReplies();
    this.hooks.died(cause, this.inflight);
    for (const [seq, job] of [...this.jobs])
      this.settle(seq, job, cause instanceof Error ? cause : new Error(String(cause)));
    this.replyPort.close();
  }
}
