// The push stream's server CPU to deliver a cycle's burst to SSE clients that read: BURSTS bursts of
// EVENTS bar events published in one turn (a batch source's cycle at EVENTS / 2 symbols), to CLIENTS
// clients in a child process (so their parsing is not counted). It also says whether any client was
// dropped as a slow consumer with the default STREAM_MAX_QUEUE (1000), which a burst of 2,000 events
// did before the stream judged backlogs after the turn.
// Run: pnpm --filter @pipeline/sidecar exec tsx bench/stream-sse.bench.ts
// (BENCH_STREAM_CLIENTS, BENCH_STREAM_BURSTS, BENCH_STREAM_EVENTS, BENCH_STREAM_MAX_QUEUE override them).
import { spawn } from 'node:child_process';
import Fastify from 'fastify';
import { registerStreamRoutes } from '../src/http/stream';
import { createStreamHub } from '../src/http/stream-hub';

const CLIENTS = Number(process.env.BENCH_STREAM_CLIENTS ?? 10);
const BURSTS = Number(process.env.BENCH_STREAM_BURSTS ?? 20);
const EVENTS = Number(process.env.BENCH_STREAM_EVENTS ?? 2000);
/** STREAM_MAX_QUEUE for the run. @default 1000, the sidecar's default */
const MAX_QUEUE = Number(process.env.BENCH_STREAM_MAX_QUEUE ?? 1000);

const hub = createStreamHub({ maxQueue: MAX_QUEUE });
const app = Fastify();
registerStreamRoutes(app, { hub, resolveSymbol: (s) => s });
const url = await app.listen({ port: 0, host: '127.0.0.1' });

// Each client counts `event: bars` frames (across chunk boundaries) and `event: error` (a drop).
const client = `
  const n = ${CLIENTS}, total = ${BURSTS * EVENTS}; let done = 0, dropped = 0;
  const finish = () => { if (++done === n) { console.log('done ' + dropped); process.exit(0); } };
  for (let i = 0; i < n; i++) (async () => {
    const res = await fetch('${url}/stream?kinds=bars');
    console.log('open');
    const dec = new TextDecoder(); let count = 0, carry = '';
    for await (const c of res.body) {
      const t = carry + dec.decode(c, { stream: true });
      if (t.includes('event: error')) { dropped++; return finish(); }
      const parts = t.split('\\nevent: bars');
      count += parts.length - 1;
      carry = parts[parts.length - 1].slice(-16);
      if (count >= total) return finish();
    }
    finish();
  })();
`;
const child = spawn(process.execPath, ['-e', client], { stdio: ['ignore', 'pipe', 'inherit'] });
let opened = 0;
const finished = new Promise<number>((resolve) =>
  child.stdout.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) {
      if (line === 'open') opened++;
      if (line.startsWith('done ')) resolve(Number(line.slice(5)));
    }
  }),
);
while (opened < CLIENTS || hub.subscribers < CLIENTS) await new Promise((r) => setTimeout(r, 20));

const bar = { timeframe: '1m', ts: 0, open: 1, high: 1, low: 1, close: 1, volume: 1, final: false };
const start = process.cpuUsage();
for (let b = 0; b < BURSTS; b++) {
  for (let i = 0; i < EVENTS; i++) hub.publish('bars', `S${i % (EVENTS / 2)}`, { ...bar, symbol: `S${i}` });
  await new Promise((r) => setTimeout(r, 50));
}
const dropped = await finished;
const cpu = process.cpuUsage(start);
const ms = (cpu.user + cpu.system) / 1000;
console.log(
  `${CLIENTS} SSE clients x ${BURSTS} bursts of ${EVENTS} events (one turn each), maxQueue ${MAX_QUEUE}: server CPU ${ms.toFixed(0)} ms, ` +
    `${(ms / BURSTS).toFixed(1)} ms per burst; dropped as SLOW_CONSUMER: ${dropped}`,
);
await app.close();
process.exit(dropped === 0 ? 0 : 1);
