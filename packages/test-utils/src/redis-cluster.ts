// A private Redis Cluster for tests: N masters (`redis-server --cluster-enabled yes`, each in its own
// temp folder on a free port, with an explicit free cluster-bus port so nothing depends on port + 10000),
// joined by `redis-cli --cluster create ... --cluster-replicas 0 --cluster-yes`, and returned once every
// node reports cluster_state:ok with all masters known. Stopped by the pids it started, never by name:
// the machine's Redis on 6379 is not touched.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { getFreePort } from './net';
import { answersPing } from './redis';

const run = promisify(execFile);

export interface RedisClusterHandle {
  /** `127.0.0.1:<port>` of every master, as ioredis' Cluster and REDIS_CLUSTER_NODES take them. */
  nodes: string[];
  ports: number[];
  /** Stops every node (SIGKILL of the pids started here) and removes their folders. */
  stop(): Promise<void>;
}

async function waitUntil(probe: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts a private Redis Cluster of `masters` masters (no replicas) on free ports. */
export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-redis-cluster-'));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
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
    // A free port is free when asked, not when redis-server binds it (another test process may take
    // it in between): a node that exits before it answers is started again on other ports.
    const startNode = async (attempt: number): Promise<number> => {
      const port = await getFreePort();
      const busPort = await getFreePort();
      const nodeDir = join(dir, String(port));
      mkdirSync(nodeDir);
      const child = spawn(
        'redis-server',
        [
          ['--port', String(port)],
          ['--cluster-port', String(busPort)],
          ['--bind', '127.0.0.1'],
          ['--cluster-enabled', 'yes'],
          ['--cluster-config-file', `nodes-${port}.conf`],
          ['--cluster-node-timeout', '2000'],
          ['--save', ''],
          ['--appendonly', 'no'],
          ['--dir', nodeDir],
        ].flat(),
        { stdio: 'ignore' },
      );
      children.push(child);
      const exited = () => child.exitCode !== null || child.signalCode !== null;
      await waitUntil(
        async () => exited() || (await answersPing(port)),
        `cluster node ${port} to start`,
        10_000,
      );
      if (!exited()) return port;
      if (attempt >= 3)
        throw new Error(`cluster node on port ${port} (bus ${busPort}) exited at start, 3 times`);
      return startNode(attempt + 1);
    };
    for (let i = 0; i < masters; i++) ports.push(await startNode(1));
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 15_000,
    });
    // Every node must agree the cluster is up (slots assigned, gossip converged).
    let states: string[] = [];
    await waitUntil(
      async () => {
        states = await Promise.all(
          ports.map(async (p) => (await run('redis-cli', ['-p', String(p), 'cluster', 'info'])).stdout),
        );
        return states.every(
          (s) =>
            s.includes('cluster_state:ok') && /cluster_known_nodes:(\d+)/.exec(s)?.[1] === String(masters),
        );
      },
      'the Redis Cluster to converge',
      20_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}:\n${states.join('\n')}`);
    });
    return { nodes, ports, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
