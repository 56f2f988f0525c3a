// Cluster throughput: S synthetic symbols at 1 Hz collected by one sidecar process, then by three
// in cluster mode, each configuration as real child processes (`src/main.ts` through tsx) on the
// machine's Redis (own prefix) and PostgreSQL (own database, created and dropped). The figure is
// symbols collected per CPU-second: (symbols x cycles per second) / (CPU seconds per second summed
// over the processes, from /proc/<pid>/stat), and the ratio three / one. On a 2-core machine three
// processes cannot run three times as fast; what the ratio shows is cluster mode's own cost per
// symbol (coordination, fence, the mirror of symbols owned elsewhere).
// Run: pnpm exec tsx bench/cluster-throughput.bench.ts (BENCH_CLUSTER_SYMBOLS, BENCH_CLUSTER_SECONDS).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL, deleteRedisPrefix, getFreePort, uniqueRedisPrefix } from '@pipeline/test-utils';

const SYMBOLS = Number(process.env.BENCH_CLUSTER_SYMBOLS ?? 300);
const SECONDS = Number(process.env.BENCH_CLUSTER_SECONDS ?? 15);
const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const TICKS_PER_SECOND = 100; // Linux USER_HZ
const DB = `pipeline_cluster_bench_${process.pid}`;
const PG = (db: string) => `postgres://postgres@127.0.0.1:5432/${db}`;
const psql = (db: string, sql: string) =>
  execFileSync('psql', ['-X', '-At', PG(db), '-c', sql], { encoding: 'utf8' });

interface Proc {
  child: ChildProcess;
  base: string;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime + stime
}

async function startProc(env: Record<string, string>): Promise<Proc> {
  const port = await getFreePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: APP_DIR,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      PORT: String(port),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/health/ready`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('sidecar did not become ready');
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, base };
}

async function cycles(p: Proc): Promise<number> {
  const h = (await (await fetch(`${p.base}/health`)).json()) as { loop: { cycles: number } };
  return h.loop.cycles;
}

async function measure(
  instances: number,
  prefix: string,
): Promise<{ perCpuSecond: number; cpuPct: number; hz: number }> {
  const symbols = Array.from({ length: SYMBOLS }, (_, i) => `SYM${String(i).padStart(5, '0')}`);
  const env = {
    SYMBOLS: symbols.join(','),
    SOURCES: 'synthetic',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    HISTORY_URL: PG(DB),
    BOOTSTRAP_DAYS: '0',
    COLLECTION_INTERVAL: '1',
    ...(instances > 1 ? { CLUSTER_NAME: 'bench', LEASE_TTL: '3' } : {}),
  };
  const procs = await Promise.all(
    Array.from({ length: instances }, (_, i) => startProc({ ...env, INSTANCE_ID: `bench-${i}` })),
  );
  try {
    await new Promise((r) => setTimeout(r, 8_000)); // shares settle, takeovers done
    const cpu0 = procs.map((p) => cpuSeconds(p.child.pid!));
    const cyc0 = await Promise.all(procs.map(cycles));
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const wall = (Date.now() - t0) / 1000;
    for (const p of procs) {
      const h = (await (await fetch(`${p.base}/health`)).json()) as {
        loop: unknown;
        cluster?: { ownedCount: number };
      };
      console.log(JSON.stringify({ loop: h.loop, owned: h.cluster?.ownedCount }));
    }
    const cpu = procs.reduce((sum, p, i) => sum + cpuSeconds(p.child.pid!) - cpu0[i], 0);
    const cyc = (await Promise.all(procs.map(cycles))).map((c, i) => c - cyc0[i]);
    // Every instance runs its own 1 Hz loop over its share; the cluster's rate is the slowest loop's.
    const hz = Math.min(...cyc) / wall;
    return { perCpuSecond: (SYMBOLS * hz) / (cpu / wall), cpuPct: (100 * cpu) / wall, hz };
  } finally {
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(
      procs.map((p) => new Promise((r) => (p.child.exitCode !== null ? r(null) : p.child.once('exit', r)))),
    );
  }
}

async function main(): Promise<void> {
  psql('postgres', `CREATE DATABASE ${DB}`);
  const redis = new Redis(TEST_REDIS_URL);
  const prefixes = [uniqueRedisPrefix('bench-tp1'), uniqueRedisPrefix('bench-tp3')];
  try {
    const one = await measure(1, prefixes[0]);
    const three = await measure(3, prefixes[1]);
    const rows = [
      {
        case: `one sidecar, ${SYMBOLS} symbols at 1 Hz`,
        unit: 'symbols per CPU-second',
        ours: Math.round(one.perCpuSecond),
        cpu: `${one.cpuPct.toFixed(0)} %`,
        hz: one.hz.toFixed(2),
      },
      {
        case: `three sidecars (cluster), ${SYMBOLS} symbols at 1 Hz`,
        unit: 'symbols per CPU-second',
        ours: Math.round(three.perCpuSecond),
        cpu: `${three.cpuPct.toFixed(0)} %`,
        hz: three.hz.toFixed(2),
      },
      {
        case: 'three / one, per CPU-second',
        unit: 'x',
        ours: Number((three.perCpuSecond / one.perCpuSecond).toFixed(2)),
        cpu: '',
        hz: '',
      },
    ];
    console.table(rows);
  } finally {
    for (const p of prefixes) await deleteRedisPrefix(redis, p);
    await redis.quit();
    psql('postgres', `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
