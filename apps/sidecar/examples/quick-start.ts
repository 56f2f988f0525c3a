// Quick start in code: an offline sidecar on the synthetic source, one cycle, then its API.
// Run: npx tsx examples/quick-start.ts   (from apps/sidecar)
import { createService, loadConfig } from '../src/index';

async function main(): Promise<void> {
  const config = loadConfig({
    SOURCES: 'synthetic',
    SYMBOLS: 'EURUSD,XAUUSD,NAS100',
    SQLITE_PATH: ':memory:',
    BOOTSTRAP_DAYS: '1',
    BROKER: 'oanda',
  });
  const service = createService(config);
  // Bootstrap a day of history, warm the indicators, go live without the timer; then one cycle.
  await service.sidecar.start({ loop: false });
  await service.sidecar.runCycle();

  const health = await service.app.inject({ method: 'GET', url: '/health' });
  const signal = await service.app.inject({ method: 'GET', url: '/signals/EUR_USD' });
  const bars = await service.app.inject({ method: 'GET', url: '/bars/XAUUSD?limit=3' });
  console.log('health', health.json<{ status: string }>().status);
  console.log(
    'signal',
    signal.json<{ symbol: string; brokerSymbol: string; direction: string; confidence: number }>(),
  );
  console.log('bars', bars.json<{ count: number }>().count);
  await service.close();
}

void main();
