// A bot that follows every bar the pipeline accepts, without polling: copy this file.
// Run: REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/consumer.ts
import { type Bar, type Timeframe } from '@pipeline/core';
import { decodeFanoutBars, decodeValue } from '@pipeline/redis-kb';
import { Redis } from 'ioredis';

export interface FollowOptions {
  redisUrl: string;
  /** The cache's keyPrefix. */
  prefix?: string;
  /** Stream entry id to resume after (persist the last one you handled); default: only new entries. */
  lastId?: string;
  onBars(bars: Bar[], entryId: string): void;
  onSignal?(symbol: string, signal: Record<string, unknown>, entryId: string): void;
  /** Called once the starting ids are known: entries added from now on will be delivered. */
  onReady?(): void;
  signal: AbortSignal;
}

/**
 * Follows `<prefix>stream:bars` and `<prefix>stream:signals` with XREAD BLOCK on a dedicated
 * connection (a blocked connection can serve nothing else). Each bars entry holds every bar one
 * write accepted; a forming bar shows up again each time it is replaced (same ts: replace yours).
 * If you resume from an id older than the stream's first entry (streams are capped), you missed
 * entries: reload with `cache.latestBars()` first.
 */
export async function follow(options: FollowOptions): Promise<void> {
  const prefix = options.prefix ?? 'pipeline:';
  const barsKey = `${prefix}stream:bars`;
  const signalsKey = `${prefix}stream:signals`;
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined); // reconnects on its own; XREAD resumes from the last id
  const stop = () => redis.disconnect();
  options.signal.addEventListener('abort', stop, { once: true });
  try {
    // Start from the newest existing id rather than '$': '$' re-read after a timeout would skip
    // entries added between two XREAD calls.
    const lastOf = async (key: string) => (await redis.xrevrange(key, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
    const ids = {
      [barsKey]: options.lastId ?? (await lastOf(barsKey)),
      [signalsKey]: await lastOf(signalsKey),
    };
    options.onReady?.();
    while (!options.signal.aborted) {
      let res: Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
      try {
        res = await redis.xreadBuffer(
          'COUNT',
          100,
          'BLOCK',
          5000,
          'STREAMS',
          barsKey,
          signalsKey,
          ids[barsKey],
          ids[signalsKey],
        );
      } catch (err) {
        if (options.signal.aborted) break;
        throw err;
      }
      if (!res) continue; // timed out: block again
      for (const [streamKey, entries] of res) {
        const key = streamKey.toString();
        for (const [rawId, fields] of entries) {
          const id = rawId.toString();
          ids[key] = id;
          const field = (name: string) =>
            fields[fields.findIndex((f, i) => i % 2 === 0 && f.toString() === name) + 1];
          if (key === barsKey) options.onBars(decodeFanoutBars(field('bars')), id);
          else options.onSignal?.(field('symbol').toString(), decodeValue(field('signal')), id);
        }
      }
    }
  } finally {
    options.signal.removeEventListener('abort', stop);
    redis.disconnect();
  }
}

/** The latest close per series, as a bot would keep it. */
export function latestCloses(): {
  apply(bars: Bar[]): void;
  get(symbol: string, timeframe: Timeframe): number | undefined;
} {
  const closes = new Map<string, number>();
  return {
    apply: (bars) => bars.forEach((b) => closes.set(`${b.symbol}|${b.timeframe}`, b.close)),
    get: (symbol, timeframe) => closes.get(`${symbol}|${timeframe}`),
  };
}

// Run directly: print what arrives until Ctrl-C.
if (process.argv[1]?.endsWith('consumer.ts')) {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  follow({
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    signal: controller.signal,
    onBars: (bars, id) =>
      console.log(
        id,
        bars.map(
          (b) =>
            `${b.symbol} ${b.timeframe} ${new Date(b.ts).toISOString()} ${b.close}${b.final ? '' : ' (forming)'}`,
        ),
      ),
    onSignal: (symbol, signal) => console.log('signal', symbol, signal),
  }).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
