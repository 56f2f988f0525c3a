// What one GET /health, /health/ready and /health/live costs at N symbols (default 1,000), through
// fastify's inject() (routing, handler, serialisation; no socket). The service is live with every
// symbol collected once from the synthetic source, so the report judges N fresh symbols. Beside the
// service's own routes, a second fastify app serves the probes as they were before 90b863a (each built
// the whole report and read its status), over the same sidecar, so both are measured in one run.
//   pnpm --filter @pipeline/sidecar exec tsx bench/health-probes.bench.ts
//   BENCH_SYMBOLS=1000 BENCH_REQUESTS=2000 BENCH_ROUNDS=3 (the defaults)
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { systemClock } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { cleanupTempDirs, percentile, tempSqlitePath } from '@pipeline/test-utils';
import Fastify, { type FastifyInstance } from 'fastify';
import { statusSchema } from '../src/http/schemas';
import { type Sidecar } from '../src/sidecar';
import { loadConfig } from '../src/wiring/config';
import { createService } from '../src/wiring/service';

const N = Number(process.env.BENCH_SYMBOLS ?? 1000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** The probe routes as they were before they had their own checks (src/http/routes/health.ts at 5b1df61). */
function probesBefore(view: Sidecar): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get(
    '/health/live',
    { schema: { response: { 200: statusSchema, 503: statusSchema } } },
    async (_req, reply) => {
      const phase = view.health().phase;
      return phase === 'stopped' ? reply.code(503).send({ status: 'down' }) : { status: 'ok' };
    },
  );
  app.get(
    '/health/ready',
    { schema: { response: { 200: statusSchema, 503: statusSchema } } },
    async (_req, reply) => {
      if (!view.ready) return reply.code(503).send({ status: view.health().phase });
      return view.health().status === 'down' ? reply.code(503).send({ status: 'down' }) : { status: 'ready' };
    },
  );
  return app;
}

async function main(): Promise<void> {
  const config = loadConfig({
    SYMBOLS: Array.from({ length: N }, (_, i) => `SYM${String(i).padStart(5, '0')}`).join(','),
    SOURCES: 'synthetic',
    BOOTSTRAP_DAYS: '0',
    SQLITE_PATH: tempSqlitePath('bench-health'),
    LOG_LEVEL: 'error',
  });
  const fetcher = createSyntheticFetcher({ clock: systemClock });
  const service = createService(config, { overrides: { sources: [{ name: 'synthetic', fetcher }] } });
  const before = probesBefore(service.sidecar);
  await service.sidecar.start({ skipBootstrap: true, loop: false });
  // Under load a cycle's fetches can run into the breaker's timeout: collect until every symbol is fresh.
  for (let i = 0; i < 10 && service.sidecar.health().status !== 'ok'; i++) await service.sidecar.runCycle();
  const cases: [string, FastifyInstance, string][] = [
    ['before /health/live', before, '/health/live'],
    ['now /health/live', service.app, '/health/live'],
    ['before /health/ready', before, '/health/ready'],
    ['now /health/ready', service.app, '/health/ready'],
    ['/health', service.app, '/health'],
  ];
  const ms = new Map<string, number[]>(cases.map(([label]) => [label, []]));
  const bytes = new Map<string, number>();
  const loads: string[] = [];
  try {
    for (const [label, app, url] of cases) {
      const check = await app.inject({ method: 'GET', url });
      if (check.statusCode !== 200) throw new Error(`${label} answered ${check.statusCode}: ${check.body}`);
      bytes.set(label, check.body.length);
    }
    for (let i = 0; i < 500; i++) for (const [, app, url] of cases) await app.inject({ method: 'GET', url });
    // Rounds of one case after the other (/health's 140 kB answers would otherwise bill their garbage
    // to the probes), so that load changes fall on every case alike.
    for (let round = 0; round < ROUNDS; round++) {
      loads.push(loadavg()[0]?.toFixed(2) ?? '?');
      for (const [label, app, url] of cases) {
        const values = ms.get(label) ?? [];
        for (let i = 0; i < REQUESTS; i++) {
          const t0 = performance.now();
          await app.inject({ method: 'GET', url });
          values.push(performance.now() - t0);
        }
      }
    }
    // What each handler calls, without routing and serialisation.
    const direct: [string, () => unknown][] = [
      ['call health()', () => service.sidecar.health()],
      ['call readiness()', () => service.sidecar.readiness()],
      ['call liveness()', () => service.sidecar.liveness()],
    ];
    for (const [what, fn] of direct) {
      const values: number[] = [];
      for (let i = 0; i < REQUESTS; i++) {
        const t0 = performance.now();
        fn();
        values.push(performance.now() - t0);
      }
      ms.set(what, values);
    }
  } finally {
    await before.close();
    await service.close();
    cleanupTempDirs();
  }
  console.log(
    `${N} symbols, ${ROUNDS} rounds of ${REQUESTS} requests per case, 1-min load at each round ${loads.join(' / ')}, ` +
      `after ${loadavg()[0]?.toFixed(2)}`,
  );
  for (const [what, values] of ms) {
    values.sort((a, b) => a - b);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const size = bytes.has(what) ? `  (${bytes.get(what)} B)` : '';
    console.log(
      `${what.padEnd(21)} mean ${mean.toFixed(4)} ms  p50 ${percentile(values, 50).toFixed(4)} ms  p99 ${percentile(values, 99).toFixed(4)} ms${size}`,
    );
  }
}

void main();
