// Test helper (not exported): a real three-master Redis Cluster on free ports, started from
// `redis-server --cluster-enabled yes` and joined with `redis-cli --cluster create`.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { getFreePort, tempDir } from '@pipeline/test-utils';
import { Redis } from 'ioredis';

const run = promisify(execFile);

export interface TestCluster {
  /** `127.0.0.1:<port>` of each master. */
  nodes: string[];
  stop(): Promise<void>;
}

export async function startTestCluster(masters = 3): Promise<TestCluster> {
  const dir = tempDir('pipeline-cluster-');
  const children: ChildProcess[] = [];
  const nodes: string[] = [];
  const stop = async () => {
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
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await getFreePort();
      // Redis 7 takes an explicit bus port, so we never depend on port + 10000 being free.
      const busPort = await getFreePort();
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--cluster-port',
          String(busPort),
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
          dir,
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
      nodes.push(`127.0.0.1:${port}`);
    }
    for (const node of nodes) await waitFor(() => ping(node), `${node} to start`);
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 15_000,
    });
    for (const node of nodes) await waitFor(() => clusterOk(node), `${node} to report cluster_state:ok`);
    return { nodes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function ping(node: string): Promise<boolean> {
  const [host, port] = node.split(':');
  const r = new Redis({
    host,
    port: Number(port),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

async function clusterOk(node: string): Promise<boolean> {
  const [host, port] = node.split(':');
  const r = new Redis({
    host,
    port: Number(port),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return String(await r.cluster('INFO')).includes('cluster_state:ok');
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

async function waitFor(probe: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
