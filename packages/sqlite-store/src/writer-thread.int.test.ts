import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { getPriority } from 'node:os';
import { cleanupTempDirs, tempSqlitePath } from '@pipeline/test-utils';
import { makeBars } from '../test/helpers';
import { createSqliteStore, type SqliteStore } from './index';
import { resolveSqliteStoreOptions } from './options';
import { encodeBarList } from './row-encoding';
import { WriterThread, type WriterPriority } from './writer-thread';

afterAll(() => cleanupTempDirs());

const LINUX = existsSync('/proc/thread-self');

/** A thread's niceness as the kernel keeps it: field 19 of /proc/<pid>/task/<tid>/stat. */
function niceOf(tid: number): number {
  const stat = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8');
  // Fields after the command name (in parentheses, which may hold spaces) start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[19 - 3]);
}

/** Niceness of every thread of this process, by Linux thread id. */
function threadNices(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${process.pid}/task`).map(Number)) {
    try {
      out.set(tid, niceOf(tid));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

const priorityOf = (store: SqliteStore): WriterPriority | null =>
  (store as unknown as { thread: WriterThread }).thread.priority;

describe('writerNice (the writer thread scheduling priority)', () => {
  it('defaults to 0: the thread keeps the process priority and reports nothing', async () => {
    const store = createSqliteStore({ path: tempSqlitePath('nice-off'), mode: 'worker' });
    try {
      expect(store.options.writerNice).toBe(0);
      store.write(makeBars(3));
      await store.flush();
      expect(priorityOf(store)).toBeNull();
      if (LINUX) {
        const main = getPriority();
        for (const nice of threadNices().values()) expect(nice).toBe(main);
      }
    } finally {
      await store.close();
    }
  });

  it('raises the writer thread niceness only, and the thread reports its tid and niceness', async () => {
    const main = getPriority();
    const store = createSqliteStore({ path: tempSqlitePath('nice-on'), mode: 'worker', writerNice: 7 });
    try {
      store.write(makeBars(3));
      // The thread reports before its first reply.
      await store.flush();
      const report = priorityOf(store);
      if (!LINUX) {
        expect(report).toMatchObject({ error: expect.any(String) });
        return;
      }
      if (!report || 'error' in report) throw new Error(`no priority report: ${JSON.stringify(report)}`);
      // 7 levels below the thread that made the store (0 in a plain shell), at most 19.
      const expected = Math.min(19, main + 7);
      expect(report.nice).toBe(expected);
      // What the kernel holds for that thread, read from outside it.
      expect(niceOf(report.tid)).toBe(expected);
      expect(getPriority(report.tid)).toBe(expected);
      // Every other thread of the process (the event loop's included) is untouched.
      const others = [...threadNices()].filter(([tid]) => tid !== report.tid);
      expect(others.length).toBeGreaterThan(0);
      for (const [, nice] of others) expect(nice).toBe(main);
      expect(getPriority()).toBe(main);
      // Writes go on as before.
      store.write(makeBars(5));
      expect((await store.flush()).rows).toBe(5);
      expect(store.latest('EURUSD', '1m', 10)).toHaveLength(5);
    } finally {
      await store.close();
    }
  });

  it('without /proc/thread-self (not Linux) the thread keeps the process priority, reports why and writes', async () => {
    const path = tempSqlitePath('nice-missing');
    // The schema, made by a store.
    await createSqliteStore({ path }).close();
    const options = resolveSqliteStoreOptions({ path, mode: 'worker', writerNice: 5 });
    const settled: string[] = [];
    const thread = new WriterThread(
      options,
      [],
      {
        flushFailed: () => {
          throw new Error('unexpected flushFailed');
        },
        backfillFailed: () => {
          throw new Error('unexpected backfillFailed');
        },
        succeeded: () => settled.push('ok'),
        died: (cause) => settled.push(`died: ${String(cause)}`),
      },
      '/proc/no-such-thread-self',
    );
    try {
      const result = await thread.post(encodeBarList(makeBars(4)), null);
      expect(result.rows).toBe(4);
      expect(settled).toEqual(['ok']);
      expect(thread.priority).toMatchObject({ error: expect.stringMatching(/ENOENT/) });
      if (LINUX) for (const nice of threadNices().values()) expect(nice).toBe(getPriority());
    } finally {
      await thread.stop();
    }
  });

  it('refuses values outside 0-19 and non-integers', () => {
    const path = tempSqlitePath('nice-bad');
    expect(() => createSqliteStore({ path, mode: 'worker', writerNice: -1 })).toThrow(
      /writerNice" must be a number in \[0, 19\], got -1/,
    );
    expect(() => createSqliteStore({ path, mode: 'worker', writerNice: 20 })).toThrow(/got 20/);
    expect(() => createSqliteStore({ path, mode: 'worker', writerNice: 2.5 })).toThrow(
      /writerNice" must be an integer, got 2.5/,
    );
  });
});
