// A private Redis Cluster for tests: N masters (`redis-server --cluster-enabled yes`, each in its own
// temp folder on a free port whose cluster-bus port, +10000, is free too), joined by
// `redis-cli --cluster create ... --cluster-replicas 0 --cluster-yes`. Stopped by the pids it started,
// never by name; the machine's Redis on 6379 is not touched.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { answersPing } from '@pipeline/test-utils';

const run = promisify(execFile);

export interface RedisClusterHandle {
  /** `host:port` of every master, as REDIS_CLUSTER_NODES takes them. */
  nodes: string[];
  ports: number[];
  /** Stops every node (SIGKILL of the pids started here) and removes their folders. */
  destroy(): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port p with p and p + 10000 (the cluster bus) both free. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 20_000 + Math.floor(Math.random() * 30_000);
    if (taken.has(p) || taken.has(p + 10_000)) continue;
    if ((await portFree(p)) && (await portFree(p + 10_000))) {
      taken.add(p);
      taken.add(p + 10_000);
      return p;
    }
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-redis-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  const destroy = async (): Promise<void> => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await clusterPort(taken);
      ports.push(port);
      const nodeDir = join(dir, String(port));
      mkdirSync(nodeDir);
      children.push(
        spawn(
          'redis-server',
          [
            '--port',
            String(port),
            '--bind',
            '127.0.0.1',
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${port}.conf`,
            '--cluster-node-timeout',
            '2000',
            '--save',
            '',
            '--appendonly',
            'no',
            '--dir',
            nodeDir,
          ],
          { stdio: 'ignore' },
        ),
      );
    }
    for (const port of ports) {
      const deadline = Date.now() + 10_000;
      while (!(await answersPing(port))) {
        if (Date.now() > deadline) throw new Error(`redis-server (cluster node) on ${port} did not start`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes']);
    // Every node must agree the cluster is up (slots assigned, gossip converged).
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = await Promise.all(
        ports.map(async (p) => (await run('redis-cli', ['-p', String(p), 'cluster', 'info'])).stdout),
      );
      if (
        states.every(
          (s) => /cluster_state:ok/.test(s) && /cluster_known_nodes:(\d+)/.exec(s)?.[1] === String(masters),
        )
      )
        break;
      if (Date.now() > deadline) throw new Error(`Redis Cluster did not converge:\n${states.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { nodes, ports, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}
