// Profiling helper: `node --cpu-prof --import tsx bench/profile-cycle.ts` runs N warm cycles.
import { systemClock } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { createService, loadConfig } from '../src/index';

async function main(): Promise<void> {
  const n = Number(process.env.N ?? 2000);
  const config = loadConfig({
    SYMBOLS: Array.from({ length: n }, (_, i) => `S${i}`).join(','),
    SOURCES: 'synthetic',
    BOOTSTRAP_DAYS: '0',
    SQLITE_PATH: ':memory:',
    FETCH_CONCURRENCY: '64',
  });
  const f = createSyntheticFetcher({ clock: systemClock });
  const s = createService(config, { overrides: { sources: [{ name: 'synthetic', fetcher: f }] } });
  for (let i = 0; i < 3; i++) await s.sidecar.runCycle();
  const t = performance.now();
  for (let i = 0; i < 10; i++) await s.sidecar.runCycle();
  console.log(`${n} symbols: ${((performance.now() - t) / 10).toFixed(1)} ms per cycle`);
  await s.close();
}
void main();
