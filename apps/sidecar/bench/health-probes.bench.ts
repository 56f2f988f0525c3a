// What one GET /health, /health/ready and /health/live costs at N symbols (default 1,000), through
// fastify's inject() (routing, handler, serialisation; no socket). The service is live with every
// symbol collected once from the synthetic source, so the report judges N fresh symbols.
//   pnpm --filter @pipeline/sidecar exec tsx bench/health-probes.bench.ts
//   BENCH_SYMBOLS=1000 BENCH_REQUESTS=2000 (the defaults)
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { systemClock } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { cleanupTempDirs, percentile, tempSqlitePath } from '@pipeline/test-utils';
import { loadConfig } from '../src/wiring/config';
import { createService } from '../src/wiring/service';

const N = Number(process.env.BENCH_SYMBOLS ?? 1000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);

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
  await service.sidecar.start({ skipBootstrap: true, loop: false });
  // Under load a cycle's fetches can run into the breaker's timeout: collect until every symbol is fresh.
  for (let i = 0; i < 10 && service.sidecar.health().status !== 'ok'; i++) await service.sidecar.runCycle();
  const urls = ['/health/live', '/health/ready', '/health'] as const;
  const ms = new Map<string, number[]>(urls.map((u) => [u, []]));
  const bytes = new Map<string, number>();
  try {
    for (const url of urls) {
      const check = await service.app.inject({ method: 'GET', url });
      if (check.statusCode !== 200) throw new Error(`${url} answered ${check.statusCode}: ${check.body}`);
      bytes.set(url, check.body.length);
    }
    // One route after the other: /health's 140 kB answers would otherwise bill their garbage to the probes.
    for (let i = 0; i < 500; i++) for (const url of urls) await service.app.inject({ method: 'GET', url });
    for (const url of urls) {
      for (let i = 0; i < REQUESTS; i++) {
        const t0 = performance.now();
        await service.app.inject({ method: 'GET', url });
        ms.get(url)?.push(performance.now() - t0);
      }
    }
    // What each handler calls, without routing and serialisation: the report (what the probes built
    // before they had their own checks) and the two probes.
    const direct: [string, () => unknown][] = [
      ['sidecar.health()', () => service.sidecar.health()],
      ['sidecar.readiness()', () => service.sidecar.readiness()],
      ['sidecar.liveness()', () => service.sidecar.liveness()],
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
    await service.close();
    cleanupTempDirs();
  }
  console.log(
    `${N} symbols, ${REQUESTS} requests per route, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const [what, values] of ms) {
    values.sort((a, b) => a - b);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const size = bytes.has(what) ? `  (${bytes.get(what)} B)` : '';
    console.log(
      `${what.padEnd(20)} mean ${mean.toFixed(4)} ms  p50 ${percentile(values, 50).toFixed(4)} ms  p99 ${percentile(values, 99).toFixed(4)} ms${size}`,
    );
  }
}

void main();
