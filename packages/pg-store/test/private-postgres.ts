// A private PostgreSQL server for tests that must kill the database: initdb into a temp folder and
// `postgres -D <dir> -p <free port>`, started as the postgres OS user when the tests run as root (root
// cannot run postgres). Killed by its own pid (process group), never by name: the machine's server on
// 5432 is never touched.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getFreePort } from '@pipeline/test-utils';
import pg from 'pg';

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'postgres'))) return join(root, v, 'bin');
  throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
}

/** uid/gid to run postgres as: the postgres user when we are root, else ourselves. */
function identity(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export interface PrivatePostgres {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  adminUrl: string;
  /** Pid of the running postmaster, or null while stopped. */
  readonly pid: number | null;
  /** SIGKILLs the postmaster and its backends (the process group) and waits until they are gone. */
  kill(): Promise<void>;
  /** Starts the server again on the same data folder and port (crash recovery runs) and waits until it answers. */
  start(): Promise<void>;
  /** Stops the server (if running) and removes its folder. */
  destroy(): Promise<void>;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const id = identity();
  const dir = mkdtempSync(join(tmpdir(), 'pgstore-private-'));
  if (id.uid !== undefined) chownSync(dir, id.uid, id.gid!);
  const data = join(dir, 'data');
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'],
    {
      ...id,
      stdio: 'ignore',
      env: { ...process.env, LC_ALL: 'C' },
    },
  );
  const port = await getFreePort();
  let child: ChildProcess | null = null;
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;

  async function waitReady(): Promise<void> {
    const until = Date.now() + 30_000;
    for (;;) {
      const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 1000 });
      try {
        await c.connect();
        await c.query('SELECT 1');
        await c.end();
        return;
      } catch (error) {
        await c.end().catch(() => undefined);
        if (Date.now() > until) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  const handle: PrivatePostgres = {
    port,
    adminUrl,
    get pid() {
      return child?.pid ?? null;
    },
    async start() {
      if (child) throw new Error('private postgres is running already');
      child = spawn(
        join(bin, 'postgres'),
        [
          '-D',
          data,
          '-p',
          String(port),
          '-k',
          dir,
          '-c',
          'listen_addresses=127.0.0.1',
          '-c',
          'shared_buffers=16MB',
        ],
        { ...id, detached: true, stdio: 'ignore' },
      );
      await waitReady();
    },
    async kill() {
      const c = child;
      if (!c || c.pid === undefined) return;
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      process.kill(-c.pid, 'SIGKILL');
      await exited;
      child = null;
      // Backends notice the postmaster's death on their own; wait until the group is empty.
      const until = Date.now() + 10_000;
      for (;;) {
        try {
          process.kill(-c.pid, 0);
        } catch {
          return;
        }
        if (Date.now() > until) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async destroy() {
      await handle.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}
