// The README's quick start; apps/sidecar/src/http/client-example.int.test.ts runs it against a real sidecar.
import { createClient, isClientError } from '@pipeline/client';

const client = createClient({
  baseUrl: process.env.SIDECAR_URL ?? 'http://127.0.0.1:8000',
  token: process.env.API_TOKEN, // only when the sidecar has API_TOKEN set
});

try {
  const { signals } = await client.signals();
  for (const s of signals) console.log('signal', s.symbol, s.direction, s.confidence.toFixed(2));

  const hourly = await client.bars('EURUSD', { timeframe: '1h', limit: 24 });
  console.log('bars', hourly.count, 'clipped', hourly.clipped);
} catch (err) {
  if (isClientError(err)) console.error('request failed:', err.code, err.status, err.serverCode);
  throw err;
}

// Follow EURUSD's bars and signals for a while; reconnects resume from the last event id.
const seconds = Number(process.env.STREAM_SECONDS ?? 10);
for await (const event of client.stream({
  symbols: ['EURUSD'],
  kinds: ['bars', 'signals'],
  signal: AbortSignal.timeout(seconds * 1000),
})) {
  console.log('event', event.id, event.kind);
}
