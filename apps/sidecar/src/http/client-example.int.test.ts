// Runs @pipeline/client's README quick start (packages/client/examples/quick-start.ts) verbatim, as a
// child process on the built client, against this sidecar listening on a real port.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTempDirs } from '@pipeline/test-utils';
import { buildApp } from './api';
import { createHarness } from '../../test/harness';

afterAll(() => cleanupTempDirs());

const clientDir = join(__dirname, '../../../../packages/client');
const TOKEN = 'example-token-0123456789';

it('the client quick start runs against a real sidecar', async () => {
  if (!existsSync(join(clientDir, 'dist/index.js'))) {
    expect(spawnSync('pnpm', ['build'], { cwd: clientDir, stdio: 'ignore' }).status).toBe(0);
  }
  const h = createHarness({ SYMBOLS: 'EURUSD,XAUUSD' });
  const app = buildApp(h.sidecar, { apiToken: TOKEN });
  try {
    for (let i = 0; i < 40; i++) {
      await h.sidecar.runCycle();
      h.clock.advance(60_000);
    }
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const child = spawn('pnpm', ['exec', 'tsx', 'examples/quick-start.ts'], {
      cwd: clientDir,
      env: { ...process.env, SIDECAR_URL: url, API_TOKEN: TOKEN, STREAM_SECONDS: '3' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    // Once the example follows the stream, new cycles produce bar and signal events for it.
    const deadline = Date.now() + 15_000;
    while (!out.includes('clipped') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 3; i++) {
      h.clock.advance(60_000);
      await h.sidecar.runCycle();
    }
    expect(await exited).toBe(0);
    expect(err).toBe('');
    expect(out).toMatch(/^signal EURUSD (long|short|flat) \d\.\d\d$/m);
    expect(out).toMatch(/^bars \d+ clipped false$/m);
    expect(out).toMatch(/^event \d+ bars$/m);
  } finally {
    await app.close();
    await h.sidecar.stop();
  }
}, 30_000);
