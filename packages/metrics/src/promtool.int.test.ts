// Pipes the real exposition through Prometheus' own checker when it is installed (Debian package
// `prometheus` ships /usr/bin/promtool). CI machines without it skip with a clear message; the
// built-in lint (lint.test.ts) covers the same rules there.
import { spawn, spawnSync } from 'node:child_process';
import { ManualClock } from '@pipeline/core';
import { createPipelineMetrics, type PipelineMetrics } from './index';
import { populate } from '../test/populate';

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const available = promtool.status === 0;

function check(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

describe('promtool check metrics', () => {
  let metrics: PipelineMetrics | undefined;
  afterEach(() => metrics?.close());

  if (!available) {
    it('is skipped: promtool is not on PATH', () => {
      console.log(
        'SKIP promtool check: `promtool` not found on PATH (install the Debian package "prometheus" to run it)',
      );
    });
    return;
  }

  it('accepts every pipeline metric, populated, with process metrics', async () => {
    const clock = new ManualClock();
    metrics = createPipelineMetrics({ defaultMetrics: true, labels: { instance: 'a' }, clock });
    populate(metrics, clock);
    const result = await check(await metrics.text());
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  it('is a real check: it rejects a badly named counter', async () => {
    const result = await check(
      '# HELP bad_requests Requests.\n# TYPE bad_requests counter\nbad_requests 1\n',
    );
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/_total/);
  });
});
