// A bot's side of the fan-out: every bar the pipeline's cache accepts, as an async iterator, without
// polling. One dedicated connection per follower, because `XREAD BLOCK` holds the connection it runs on.
import { OptionsError, isTimeframe, resolveOptions, type Bar, type Timeframe } from '@pipeline/core';
import { Redis, type RedisOptions } from 'ioredis';
import { decodeFanoutBars, decodeValue } from './codec';
import { CacheCommandError, CacheDecodeError } from './errors';
import { type SignalWrittenEvent } from './hot-cache';
import { createKeyLayout, isCacheableSymbol, type StreamKind } from './keys';

export interface FollowBarsOptions {
  /**
   * A standalone ioredis client to take the connection settings from: the follower opens its own
   * connection with `redis.duplicate()` (a blocked connection can serve nothing else), so yours is
   * neither blocked nor closed. Give exactly one of `redis` and `url`.
   */
  redis?: Redis;
  /** `redis://` or `rediss://` URL of the Redis the cache writes to. Give exactly one of `redis` and `url`. */
  url?: string;
  /** The cache's `keyPrefix`: the follower reads `<prefix>stream:bars`. @default 'pipeline:' */
  prefix?: string;
  /** Only bars of these symbols. @default every symbol */
  symbols?: readonly string[];
  /** Only bars of this timeframe. @default every timeframe */
  timeframe?: Timeframe;
  /** Aborting ends the iteration (the pending `next()` resolves `done`) and closes the connection. */
  signal?: AbortSignal;
  /**
   * Stream entry id to resume after (the follower's `lastId` from before a restart). @default the
   * newest entry when the follower starts: only bars written from then on
   */
  lastId?: string;
  /** Milliseconds one `XREAD BLOCK` waits before it is re-issued (bounds how long a lost socket goes unnoticed). @default 5000 */
  blockMs?: number;
  /** Stream entries read per round trip. @default 100 */
  count?: number;
}

/** Defaults of {@link FollowBarsOptions}. */
export const FOLLOW_BARS_DEFAULTS = Object.freeze({
  prefix: 'pipeline:',
  blockMs: 5_000,
  count: 100,
});

/** Options of {@link followSignals}: those of {@link followBars} but `timeframe` (signals have none). */
export type FollowSignalsOptions = Omit<FollowBarsOptions, 'timeframe'>;

/** What {@link followBars} and {@link followSignals} return: iterate it with `for await`. */
export interface StreamFollower<T> extends AsyncIterableIterator<T> {
  /**
   * Resolves once the starting position is known: every bar written to the stream from then on will be
   * delivered. Useful before writing in tests, or to report readiness.
   */
  ready(): Promise<void>;
  /**
   * Id of the last stream entry whose bars were all delivered (`undefined` before the first). Persist
   * it and pass it back as `lastId` to resume without a hole; an entry cut short by a `break` is
   * delivered again, which is harmless (same symbol, timeframe and ts replaces).
   */
  readonly lastId: string | undefined;
  /** Stops following and closes the connection; the same as `return()` or aborting `signal`. */
  close(): Promise<void>;
}

/** What {@link followBars} returns. */
export type BarFollower = StreamFollower<Bar>;

/**
 * Follows `<prefix>stream:bars`, the fan-out of a Redis hot cache, yielding each accepted bar (of the
 * chosen symbols and timeframe) in the order the cache wrote them. A forming bar comes again every
 * time it is replaced: treat the same (symbol, timeframe, ts) as a replacement. While Redis is
 * unreachable the follower waits and reconnects on its own (it does not throw for a lost connection);
 * it throws `CACHE_COMMAND_FAILED` if Redis rejects the read (the key is not a stream) and
 * `CACHE_DECODE_FAILED` for an entry this package did not write. Streams are capped (`streamMaxLen`):
 * resuming from an id older than the first entry skips what was trimmed, so reload with
 * `cache.latestBars()` after a long pause.
 *
 * ```ts
 * const controller = new AbortController();
 * for await (const bar of followBars({ url: 'redis://127.0.0.1:6379', symbols: ['EURUSD'], signal: controller.signal })) {
 *   console.log(bar.symbol, bar.ts, bar.close, bar.final);
 * }
 * ```
 */
export function followBars(options: FollowBarsOptions): BarFollower {
  const o = resolveFollowOptions('followBars', options, true);
  const symbols = o.symbols === undefined ? null : new Set(o.symbols);
  const { timeframe } = o;
  return followStream(
    o,
    'followBars',
    'bars',
    (fields) => decodeFanoutBars(field(fields, 'bars')),
    (b: Bar) =>
      (symbols === null || symbols.has(b.symbol)) && (timeframe === undefined || b.timeframe === timeframe),
  );
}

/**
 * Follows `<prefix>stream:signals`, yielding `{ symbol, signal }` for every signal the cache stored (of
 * the chosen symbols), in the order the cache wrote them. Same connection, resume and error rules as
 * {@link followBars}; `TSignal` is the type the host stores (decoded from msgpack, not validated).
 */
export function followSignals<TSignal = Record<string, unknown>>(
  options: FollowSignalsOptions,
): StreamFollower<SignalWrittenEvent<TSignal>> {
  const o = resolveFollowOptions('followSignals', options, false);
  const symbols = o.symbols === undefined ? null : new Set(o.symbols);
  return followStream(
    o,
    'followSignals',
    'signals',
    (fields) => [
      { symbol: field(fields, 'symbol').toString(), signal: decodeValue<TSignal>(field(fields, 'signal')) },
    ],
    (e: SignalWrittenEvent<TSignal>) => symbols === null || symbols.has(e.symbol),
  );
}

/** One XREAD BLOCK loop over one fan-out stream, as an async iterator of what `decode` makes of each entry. */
function followStream<T>(
  o: ResolvedFollowOptions,
  component: string,
  kind: StreamKind,
  decode: (fields: Buffer[]) => T[],
  wanted: (item: T) => boolean,
): StreamFollower<T> {
  const key = createKeyLayout(o.prefix).stream(kind);
  // Commands wait through a reconnect instead of failing (a follower has nothing better to do), and
  // no command timeout: XREAD BLOCK legitimately takes blockMs.
  const connection: Partial<RedisOptions> = {
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    commandTimeout: undefined,
    keyPrefix: '',
    lazyConnect: false,
  };
  const redis =
    o.redis !== undefined ? o.redis.duplicate(connection) : new Redis(o.url as string, connection);
  // Connection errors are retried by the client; a rejected command surfaces through next().
  redis.on('error', () => undefined);

  let stopped = false;
  let lastId: string | undefined;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    o.signal?.removeEventListener('abort', stop);
    redis.disconnect();
  };
  o.signal?.addEventListener('abort', stop, { once: true });
  if (o.signal?.aborted) stop();

  // Start from the newest existing id rather than '$': '$' re-sent after a BLOCK timeout would skip
  // entries added between two reads.
  const start: Promise<string> = (async () => {
    if (o.lastId !== undefined) return o.lastId;
    const newest = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
    return newest[0]?.[0] ?? '0-0';
  })();
  start.catch(() => undefined); // observed by ready() and by the generator

  async function* run(): AsyncGenerator<T, undefined, undefined> {
    try {
      let cursor: string;
      try {
        cursor = await start;
      } catch (cause) {
        if (stopped) return undefined;
        throw new CacheCommandError(component, cause);
      }
      while (!stopped) {
        let reply: Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
        try {
          reply = await redis.xreadBuffer('COUNT', o.count, 'BLOCK', o.blockMs, 'STREAMS', key, cursor);
        } catch (cause) {
          if (stopped) return undefined;
          throw new CacheCommandError(component, cause);
        }
        if (!reply) continue; // BLOCK timed out: read again
        for (const [, entries] of reply) {
          for (const [rawId, fields] of entries) {
            const id = rawId.toString();
            cursor = id;
            let items: T[];
            try {
              items = decode(fields);
            } catch (cause) {
              throw new CacheDecodeError(component, `${key} ${id}`, cause);
            }
            for (const item of items) {
              if (wanted(item)) yield item;
              if (stopped) return undefined;
            }
            lastId = id;
          }
        }
      }
      return undefined;
    } finally {
      stop();
    }
  }

  const gen = run();
  const follower: StreamFollower<T> = {
    next: () => gen.next(),
    return: async () => {
      stop();
      // A generator that never started skips its finally; stop() above already closed the connection.
      return gen.return(undefined);
    },
    throw: async (err?: unknown) => {
      stop();
      return gen.throw(err);
    },
    [Symbol.asyncIterator]() {
      return follower;
    },
    ready: async () => {
      try {
        await start;
      } catch (cause) {
        if (stopped) return;
        throw new CacheCommandError(component, cause);
      }
    },
    get lastId() {
      return lastId;
    },
    close: async () => {
      await follower.return?.(undefined);
    },
  };
  return follower;
}

function field(fields: Buffer[], name: string): Buffer {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1];
    if (value !== undefined && fields[i]?.toString() === name) return value;
  }
  throw new TypeError(`entry has no "${name}" field`);
}

interface ResolvedFollowOptions {
  redis?: Redis;
  url?: string;
  prefix: string;
  symbols?: readonly string[];
  timeframe?: Timeframe;
  signal?: AbortSignal;
  lastId?: string;
  blockMs: number;
  count: number;
}

function resolveFollowOptions(
  component: string,
  options: FollowBarsOptions,
  withTimeframe: boolean,
): ResolvedFollowOptions {
  const known: ResolvedFollowOptions = {
    ...FOLLOW_BARS_DEFAULTS,
    redis: undefined,
    url: undefined,
    symbols: undefined,
    signal: undefined,
    lastId: undefined,
  };
  if (withTimeframe) known.timeframe = undefined;
  const o = resolveOptions<ResolvedFollowOptions>(component, known, options);
  if ((o.redis === undefined) === (o.url === undefined)) {
    throw new OptionsError(`${component}: give exactly one of "redis" (a client) and "url"`);
  }
  if (o.url !== undefined && (typeof o.url !== 'string' || !/^rediss?:\/\//.test(o.url))) {
    throw new OptionsError(
      `${component}: option "url" must be a redis:// or rediss:// URL, got ${JSON.stringify(redactUrl(o.url))}`,
    );
  }
  if (o.redis !== undefined && typeof (o.redis as Partial<Redis>).duplicate !== 'function') {
    throw new OptionsError(`${component}: option "redis" must be a standalone ioredis client (Redis)`);
  }
  if (typeof o.prefix !== 'string' || /[{}]/.test(o.prefix)) {
    throw new OptionsError(
      `${component}: option "prefix" must be a string without { or }, got ${JSON.stringify(o.prefix)}`,
    );
  }
  if (o.symbols !== undefined) {
    if (!Array.isArray(o.symbols) || o.symbols.length === 0 || !o.symbols.every(isCacheableSymbol)) {
      throw new OptionsError(
        `${component}: option "symbols" must be a non-empty array of symbols, got ${JSON.stringify(o.symbols)}`,
      );
    }
  }
  if (o.timeframe !== undefined && !isTimeframe(o.timeframe)) {
    throw new OptionsError(`${component}: option "timeframe" is unknown: ${JSON.stringify(o.timeframe)}`);
  }
  if (o.lastId !== undefined && (typeof o.lastId !== 'string' || !/^\d+(-\d+)?$/.test(o.lastId))) {
    throw new OptionsError(
      `${component}: option "lastId" must be a stream id like "1700000000000-0", got ${JSON.stringify(o.lastId)}`,
    );
  }
  for (const [name, min, max] of [
    ['blockMs', 1, 600_000],
    ['count', 1, 100_000],
  ] as const) {
    const v = o[name];
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new OptionsError(
        `${component}: option "${name}" must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`,
      );
    }
  }
  return o;
}

/** A URL may carry a password: never echo it. */
function redactUrl(value: unknown): unknown {
  return typeof value === 'string' ? value.replace(/\/\/[^@/]*@/, '//***@') : value;
}
