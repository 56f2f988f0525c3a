import { request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupTempDirs } from '@pipeline/test-utils';
import { buildApp } from './api';
import { isDashboardUrl } from './dashboard';
import { createHarness, type Harness } from '../../test/harness';

const TOKEN = 'dashboard-route-token-0123';

/** A raw GET that sends the path exactly as given (no client-side `..` normalisation). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET / (dashboard)', () => {
  let h: Harness;
  let dir: string;
  beforeAll(() => {
    h = createHarness();
    dir = mkdtempSync(join(tmpdir(), 'dashboard-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>dash</title>');
    writeFileSync(join(dir, 'app.js'), 'export const x = 1;');
  });
  afterAll(async () => {
    await h.sidecar.stop();
    cleanupTempDirs();
  });

  it('serves the page and its assets without the token; data routes still need it', async () => {
    const app = buildApp(h.sidecar, { apiToken: TOKEN, dashboard: { dir } });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const page = await fetch(`${base}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect(await page.text()).toContain('<title>dash</title>');
      const js = await fetch(`${base}/dashboard/app.js`);
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toMatch(/javascript/);
      expect((await fetch(`${base}/signals`)).status).toBe(401);
      // The exemption is by path: a dashboard-looking prefix does not reach data routes.
      for (const path of [
        '/dashboard/../signals',
        '/dashboard/%2e%2e/signals',
        '/dashboardx',
        '/?x=/signals',
      ]) {
        const r = await rawGet(base, path);
        expect(r.body).not.toContain('"signals"');
        expect([200, 401, 403, 404]).toContain(r.status);
      }
      expect((await rawGet(base, '/dashboard/missing.js')).status).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('answers 503 with how to build it when the folder holds no build', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'dashboard-empty-'));
    const app = buildApp(h.sidecar, { dashboard: { dir: empty } });
    const r = await app.inject('/');
    expect(r.statusCode).toBe(503);
    expect(r.json().error.message).toMatch(/pnpm --filter @pipeline\/sidecar build/);
    await app.close();
  });

  it('isDashboardUrl names only the page and its asset folder', () => {
    expect(isDashboardUrl('/')).toBe(true);
    expect(isDashboardUrl('/?token=x')).toBe(true);
    expect(isDashboardUrl('/dashboard/app.js')).toBe(true);
    expect(isDashboardUrl('/dashboard')).toBe(false);
    expect(isDashboardUrl('/dashboardx/app.js')).toBe(false);
    expect(isDashboardUrl('/signals')).toBe(false);
  });
});
