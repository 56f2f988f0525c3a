import { Validator } from '@seriousme/openapi-schema-validator';
import { cleanupTempDirs } from '@pipeline/test-utils';
import { buildApp } from './api';
import { createHarness } from '../../test/harness';

afterAll(() => cleanupTempDirs());

describe('GET /openapi.json and /docs', () => {
  it('serves a valid OpenAPI 3 document of every route with a response schema, and the UI locally', async () => {
    const h = createHarness();
    const app = buildApp(h.sidecar, { apiToken: 'docs-token-0123456789' });
    try {
      await app.ready();
      const auth = { authorization: 'Bearer docs-token-0123456789' };
      const res = await app.inject({ method: 'GET', url: '/openapi.json', headers: auth });
      expect(res.statusCode).toBe(200);
      const doc = res.json();
      const result = await new Validator().validate(structuredClone(doc));
      expect(result.errors).toBeUndefined();
      expect(result.valid).toBe(true);
      expect(doc.openapi).toMatch(/^3\./);
      const paths = Object.keys(doc.paths).sort();
      for (const p of [
        '/health',
        '/health/live',
        '/health/ready',
        '/signals',
        '/signals/{symbol}',
        '/bars/{symbol}',
        '/features/{symbol}',
        '/stream',
        '/stream/ws',
      ]) {
        expect(paths).toContain(p);
      }
      // The clipped limit is documented in the /bars answer's schema.
      const bars = doc.paths['/bars/{symbol}'].get;
      const barsSchema = bars.responses['200'].content['application/json'].schema;
      expect(Object.keys(barsSchema.properties)).toEqual(expect.arrayContaining(['clipped', 'limit']));
      expect(bars.parameters.map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining(['timeframe', 'limit', 'from', 'to', 'symbol']),
      );
      expect(doc.paths['/stream/ws'].get.description).toMatch(/WebSocket twin/);
      // Every route documents at least one response with a body schema.
      const missing = Object.entries(
        doc.paths as Record<string, Record<string, { responses: Record<string, { content?: unknown }> }>>,
      )
        .filter(([, ops]) =>
          Object.values(ops).every((op) => Object.values(op.responses).every((r) => !r.content)),
        )
        .map(([p]) => p);
      expect(missing).toEqual([]);
      expect(
        doc.paths['/stream/ws'].get.responses['101'].content['application/json'].schema.properties,
      ).toHaveProperty('kind');

      // The description and the page hold no data: served without the token; the data routes still need it.
      expect((await app.inject({ method: 'GET', url: '/openapi.json' })).statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/docs/json' })).statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/docsx' })).statusCode).toBe(401);
      expect((await app.inject({ method: 'GET', url: '/signals' })).statusCode).toBe(401);
      const docs = await app.inject({ method: 'GET', url: '/docs', headers: auth });
      const page =
        docs.statusCode === 302
          ? await app.inject({ method: 'GET', url: docs.headers.location as string, headers: auth })
          : docs;
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      expect(page.body).not.toMatch(/https?:\/\/(cdn|unpkg|cdnjs)/);
      const bundle = await app.inject({
        method: 'GET',
        url: '/docs/static/swagger-ui-bundle.js',
        headers: auth,
      });
      expect(bundle.statusCode).toBe(200);
      expect(
        (await app.inject({ method: 'GET', url: '/docs/json', headers: auth })).json().paths['/stream'],
      ).toBeDefined();
    } finally {
      await app.close();
      await h.sidecar.stop();
    }
  });
});
