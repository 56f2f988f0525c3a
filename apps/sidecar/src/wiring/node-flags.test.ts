// Every launcher of the sidecar passes the same V8 flags (src/wiring/node-flags.ts), and this Node accepts them.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIDECAR_NODE_FLAGS, missingNodeFlags } from './node-flags';

const app = join(__dirname, '..', '..');
const read = (...parts: string[]) => readFileSync(join(app, ...parts), 'utf8');

/** The words of a launcher's node command line. */
const launchers: Record<string, () => string[]> = {
  'package.json start': () =>
    (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start?.split(/\s+/) ??
    [],
  'deploy/sidecar.Dockerfile CMD': () => {
    const cmd = read('..', '..', 'deploy', 'sidecar.Dockerfile')
      .split('\n')
      .filter((line) => line.startsWith('CMD '))
      .pop();
    return cmd ? (JSON.parse(cmd.slice(4)) as string[]) : [];
  },
  'deploy/pipeline-sidecar.service ExecStart': () =>
    /^ExecStart=(.*)$/m.exec(read('deploy', 'pipeline-sidecar.service'))?.[1]?.split(/\s+/) ?? [],
  'ecosystem.config.cjs node_args': () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- pm2's process file is CommonJS
    const pm2 = require(join(app, 'ecosystem.config.cjs')) as { apps: Array<{ node_args?: string }> };
    return pm2.apps[0]?.node_args?.split(/\s+/) ?? [];
  },
};

describe('the sidecar V8 flags', () => {
  it.each(Object.keys(launchers))('%s passes every one of them to node', (name) => {
    const words = launchers[name]?.() ?? [];
    expect(words.length).toBeGreaterThan(0);
    expect(missingNodeFlags(words)).toEqual([]);
  });

  it('are accepted by this node on the command line, and give the young generation its 128 MB semi-space', () => {
    const probe = `const v8 = require('node:v8');
      const keep = [];
      for (let i = 0; i < 3e6; i++) { const o = { i, x: i + 0.5 }; if (i % 2 === 0) keep.push(o); }
      const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      process.stdout.write(String(ns.space_size));`;
    const run = (flags: readonly string[]) =>
      spawnSync(process.execPath, [...flags, '-e', probe], { encoding: 'utf8' });
    const withFlags = run(SIDECAR_NODE_FLAGS);
    expect(withFlags.stderr).toBe('');
    expect(withFlags.status).toBe(0);
    const without = run([]);
    // V8 grows the young generation under survival up to its maximum: 32 MiB (two 16 MiB semi-spaces)
    // by default on 64-bit Node 20, 128 MiB with the flag.
    expect(Number(without.stdout)).toBeLessThanOrEqual(32 * 2 ** 20);
    expect(Number(withFlags.stdout)).toBeGreaterThan(64 * 2 ** 20);
  });

  it('give the young generation a 16 MB floor from the start (the memory reducer shrank it to 1 MB at 1 Hz)', () => {
    const probe = `const ns = require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      process.stdout.write(String(ns.space_size));`;
    const run = (flags: readonly string[]) =>
      Number(spawnSync(process.execPath, [...flags, '-e', probe], { encoding: 'utf8' }).stdout);
    expect(run([])).toBeLessThan(16 * 2 ** 20);
    expect(run(SIDECAR_NODE_FLAGS)).toBeGreaterThanOrEqual(16 * 2 ** 20);
  });

  it('names the flags a process was started without', () => {
    expect(missingNodeFlags(['--enable-source-maps'])).toEqual([...SIDECAR_NODE_FLAGS]);
    expect(missingNodeFlags(['--no-allocation-site-pretenuring', '--enable-source-maps'])).toEqual([
      '--max-semi-space-size=128',
      '--min-semi-space-size=16',
    ]);
    expect(missingNodeFlags([...SIDECAR_NODE_FLAGS])).toEqual([]);
  });
});
