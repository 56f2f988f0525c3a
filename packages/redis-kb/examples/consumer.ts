// A bot that follows every bar the pipeline's Redis cache accepts, without polling.
// Run: REDIS_URL=redis://127.0.0.1:6379 REDIS_KEY_PREFIX=pipeline: npx tsx consumer.ts (Ctrl-C stops it)
import { followBars } from '@pipeline/redis-kb';

const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
const maxBars = Number(process.env.MAX_BARS ?? 'Infinity'); // stop after this many bars

let seen = 0;
const follower = followBars({
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  prefix: process.env.REDIS_KEY_PREFIX ?? 'pipeline:', // the cache's keyPrefix
  symbols: process.env.SYMBOLS?.split(','), // unset: every symbol
  timeframe: '1m',
  signal: controller.signal,
});
await follower.ready();
console.log('following');
for await (const bar of follower) {
  // The same (symbol, timeframe, ts) again is the forming bar updated: replace, do not append.
  console.log(
    `${bar.symbol} ${bar.timeframe} ${new Date(bar.ts).toISOString()} ${bar.close}${bar.final ? '' : ' (forming)'}`,
  );
  if (++seen >= maxBars) break; // break (or abort) closes the follower's connection
}
console.log('resume after', follower.lastId); // persist it and pass it back as lastId
