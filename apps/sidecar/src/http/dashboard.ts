// GET / (the live dashboard) and GET /dashboard/* (its bundled assets) from the folder the build
// writes (dist/dashboard, see dashboard/build.mjs), through @fastify/static. The page itself holds no
// data, so it is served without the API token; it asks for the token and sends it on every data call.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import { type FastifyInstance } from 'fastify';
import { API_ERROR_CODES, errorBody } from './api';

export interface DashboardOptions {
  /**
   * Folder holding the built dashboard (index.html, app.js, app.css).
   * @default `dashboard/` beside the running script (dist/main.js), else `dist/dashboard` under the working directory
   */
  dir?: string;
}

/** Routes of the dashboard: the auth hook lets these through without a token. */
export function isDashboardUrl(url: string): boolean {
  const path = url.split('?')[0] ?? url;
  return path === '/' || path === '/index.html' || path.startsWith('/dashboard/');
}

/** Where the built dashboard is looked for when no `dir` is given. */
export function defaultDashboardDir(): string | undefined {
  const candidates = [
    ...(process.argv[1] ? [join(dirname(resolve(process.argv[1])), 'dashboard')] : []),
    resolve('dist/dashboard'),
    resolve('apps/sidecar/dist/dashboard'),
  ];
  return candidates.find(isBuilt);
}

/** A built folder has the bundle beside index.html (the source folder has only index.html). */
function isBuilt(dir: string): boolean {
  return existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'app.js'));
}

export function registerDashboard(app: FastifyInstance, options: DashboardOptions = {}): void {
  const dir = options.dir ?? defaultDashboardDir();
  if (!dir || !isBuilt(dir)) {
    // Built from source without `pnpm build`: say how to get the page instead of a bare 404.
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply
        .code(503)
        .send(
          errorBody(
            API_ERROR_CODES.notFound,
            'the dashboard is not built: run `pnpm --filter @pipeline/sidecar build` (it writes dist/dashboard)',
          ),
        ),
    );
    return;
  }
  // A scope of its own, so that the static plugin's errors (403 for a path outside the folder) answer
  // in the API's error envelope as 404 rather than as the API's 500 for an unexpected error.
  app.register(async (scope) => {
    scope.setErrorHandler((err: { statusCode?: number }, req, reply) => {
      const status = err.statusCode ?? 500;
      if (status >= 500) throw err as Error;
      return reply
        .code(404)
        .send(errorBody(API_ERROR_CODES.notFound, `no route ${req.method} ${req.url.split('?')[0]}`));
    });
    await scope.register(fastifyStatic, {
      root: dir,
      prefix: '/dashboard/',
      index: false,
      // Asset names are stable (app.js), so browsers revalidate rather than cache blindly.
      cacheControl: true,
      maxAge: 0,
    });
    scope.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply.header('cache-control', 'no-cache').sendFile('index.html', dir),
    );
  });
}
