import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { cleanupTempDirs, tempSqlitePath } from '@pipeline/test-utils';
import { createSqliteStore, type WriteMode } from './index';

const T0 = Date.UTC(2024, 0, 1);
const PKG = join(__dirname, '..');

afterAll(() => cleanupTempDirs());

interface Child {
  /** Resolves when a stdout line satisfies `test`. */
  waitFor(test: (line: string) => boolean): Promise<string>;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

function startChild(path: string, mode: WriteMode, action: 'kill' | 'term'): Child {
  // tsx runs the TypeScript child directly; the package's tsconfig maps @pipeline/* to sources.
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/crash-child.ts', path, mode, action], {
    cwd: PKG,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { test: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  let rest = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    lines,
    exited,
    kill: (signal) => child.kill(signal),
    waitFor: (test) =>
      new Promise((resolve, reject) => {
        const found = lines.find(test);
        if (found) return resolve(found);
        waiters.push({ test, resolve });
        void exited.then(({ code }) =>
          reject(new Error(`child exited (${code}) before the expected line; stderr: ${stderr}`)),
        );
      }),
  };
}

function inspect(path: string): { count: number; integrity: unknown; contiguousFrom0: number } {
  const db = new Database(path);
  try {
    const count = db.prepare('SELECT COUNT(*) FROM bars').pluck().get() as number;
    const integrity = db.pragma('integrity_check', { simple: true });
    const max = db.prepare('SELECT MAX(ts) FROM bars').pluck().get() as number | null;
    // Rows are written in ts order from T0: contiguous means no hole below the newest row.
    const contiguousFrom0 = max === null ? 0 : (max - T0) / 60_000 + 1;
    return { count, integrity, contiguousFrom0 };
  } finally {
    db.close();
  }
}

describe.each(['inline', 'worker'] as WriteMode[])('crash safety (%s mode)', (mode) => {
  it('SIGKILL loses nothing that was flushed and leaves a file that opens cleanly', async () => {
    const path = tempSqlitePath(`kill-${mode}`);
    const child = startChild(path, mode, 'kill');
    await child.waitFor((l) => l.startsWith('flushed ') && Number(l.split(' ')[1]) >= 5_000);
    child.kill('SIGKILL');
    const { signal } = await child.exited;
    expect(signal).toBe('SIGKILL');
    const lastFlushed = Math.max(
      ...child.lines.filter((l) => l.startsWith('flushed ')).map((l) => Number(l.split(' ')[1])),
    );
    const { count, integrity, contiguousFrom0 } = inspect(path);
    expect(integrity).toBe('ok');
    expect(count).toBeGreaterThanOrEqual(lastFlushed);
    expect(contiguousFrom0).toBe(count);
    // The store reopens the file (WAL recovery, migrations already applied) and reads it.
    const store = createSqliteStore({ path, mode });
    expect(store.coverage()[0]).toMatchObject({ firstTs: T0, count });
    await store.close();
  });

  it('SIGTERM while writing and flushing loses nothing: the child closes the store', async () => {
    const path = tempSqlitePath(`term-${mode}`);
    const child = startChild(path, mode, 'term');
    await child.waitFor((l) => l.startsWith('written ') && Number(l.split(' ')[1]) >= 10_000);
    child.kill('SIGTERM');
    const { code } = await child.exited;
    expect(code).toBe(0);
    const closed = child.lines.find((l) => l.startsWith('closed '));
    expect(closed).toBeDefined();
    const written = Number(closed!.split(' ')[1]);
    expect(written).toBeGreaterThanOrEqual(10_000);
    const { count, integrity, contiguousFrom0 } = inspect(path);
    expect(integrity).toBe('ok');
    expect(count).toBe(written);
    expect(contiguousFrom0).toBe(written);
  });
});
