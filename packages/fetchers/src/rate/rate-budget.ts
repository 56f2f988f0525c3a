import {
  FetchError,
  OptionsError,
  TIMEFRAME_MS,
  resolveOptions,
  systemClock,
  type Clock,
  type RateBudgetSnapshot,
  type Scheduler,
  type SourceName,
} from '@pipeline/core';

/** Request budgets of a source: null means "no limit of that kind". */
export interface RateLimits {
  /** Requests per rolling second (Alpha Vantage's free key: 1); absent or null: no such limit. */
  perSecond?: number | null;
  /** Requests per rolling 60 s. */
  perMinute: number | null;
  /** Requests per UTC calendar day (resets at 00:00 UTC). */
  perDay: number | null;
}

/**
 * Free-tier budgets of each source. Yahoo publishes none; 60/min is a conservative figure that
 * stays well below the rate at which its edge starts answering `429 Too Many Requests`. Alpha
 * Vantage's free key allows 1 request per second (its burst notice says so), 5 a minute, 25 a day.
 */
export const DEFAULT_RATE_LIMITS: Readonly<Record<SourceName, Readonly<Required<RateLimits>>>> =
  Object.freeze({
    yahoo: Object.freeze({ perSecond: null, perMinute: 60, perDay: null }),
    alphavantage: Object.freeze({ perSecond: 1, perMinute: 5, perDay: 25 }),
    twelvedata: Object.freeze({ perSecond: null, perMinute: 8, perDay: 800 }),
    polygon: Object.freeze({ perSecond: null, perMinute: 5, perDay: null }),
    replay: Object.freeze({ perSecond: null, perMinute: null, perDay: null }),
    synthetic: Object.freeze({ perSecond: null, perMinute: null, perDay: null }),
  });

export interface RateBudgetOptions {
  /** Source the budget belongs to (names the errors). */
  source: SourceName;
  /** Requests allowed in any rolling second; null: unlimited. @default DEFAULT_RATE_LIMITS[source].perSecond */
  perSecond: number | null | undefined;
  /** Requests allowed in any rolling 60 s; null: unlimited. @default DEFAULT_RATE_LIMITS[source].perMinute */
  perMinute: number | null | undefined;
  /** Requests allowed per UTC day; null: unlimited. @default DEFAULT_RATE_LIMITS[source].perDay */
  perDay: number | null | undefined;
  /**
   * Safety margin of every window, as a share of the window: a send counts for `1 s + margin` and
   * `60 s + margin`, and the UTC day counts afresh only `margin` of a minute after 00:00 UTC, so clock
   * skew and latency at a window's edge never let the provider see more than its limit. The margin is
   * never below `minMarginMs`. Unit: ratio (0..0.5). @default 0.02
   */
  windowMargin: number;
  /** Smallest margin of any window. Unit: ms (0..10000). @default 250 */
  minMarginMs: number;
  /**
   * `acquire` waits for the per-second window when it frees within this time (requests spaced by the
   * provider's per-second limit instead of refused); a longer wait, or any other spent window, is
   * refused at once. Unit: ms. @default 5000
   */
  maxSpacingWaitMs: number;
  /** Time source; its `setTimeout` (when it is a Scheduler) paces `acquire`. @default systemClock */
  clock: Clock;
}

export const RATE_BUDGET_DEFAULTS: Readonly<RateBudgetOptions> = Object.freeze({
  source: 'yahoo',
  perSecond: undefined,
  perMinute: undefined,
  perDay: undefined,
  windowMargin: 0.02,
  minMarginMs: 250,
  maxSpacingWaitMs: 5_000,
  clock: systemClock,
});

const SECOND_MS = 1_000;
const MINUTE_MS = 60_000;
const DAY_MS = TIMEFRAME_MS['1d'];

/**
 * Client-side request budget: sliding per-second and per-minute logs (each widened by a safety
 * margin) plus a UTC-day counter. `take` spends one request or throws `rate_limited` with
 * `retryAfterMs`, so no request is sent that the provider would refuse (and count against the day
 * quota); `acquire` first waits for the per-second window, which spaces requests by the provider's
 * per-second limit.
 */
export interface RateBudget {
  readonly source: SourceName;
  readonly limits: Readonly<Required<RateLimits>>;
  /** The margins in force, in ms: the second's and the minute's windows are widened by these. */
  readonly marginsMs: Readonly<{ second: number; minute: number }>;
  /** Spends one request or throws a `rate_limited` {@link FetchError} without spending. */
  take(symbol?: string): void;
  /**
   * Spends one request, first waiting (on the clock's scheduler) while only the per-second window is
   * spent and it frees within `maxSpacingWaitMs`; otherwise as {@link RateBudget.take}. An aborted
   * `signal` ends the wait with an `aborted` FetchError.
   */
  acquire(symbol?: string, signal?: AbortSignal): Promise<void>;
  /** Milliseconds until one request may be taken (0: now). */
  waitMs(): number;
  /**
   * The provider refused us (e.g. HTTP 429, or Alpha Vantage's "Note"): refuse locally until
   * `now + ms`.
   */
  block(ms: number): void;
  /** Marks the day quota spent (the provider said so). */
  exhaustDay(): void;
  snapshot(): RateBudgetSnapshot;
}

function assertLimit(name: string, value: unknown): void {
  if (value === null) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new OptionsError(
      `createRateBudget: option "${name}" must be a positive integer or null, got ${JSON.stringify(value)}`,
    );
  }
}

function isScheduler(clock: Clock): clock is Scheduler {
  return typeof (clock as Partial<Scheduler>).setTimeout === 'function';
}

/** A sliding log of send times: at most `limit` entries younger than `windowMs`. */
function slidingWindow(limit: number | null, windowMs: number) {
  const log: number[] = [];
  return {
    roll(now: number): void {
      for (let first = log[0]; first !== undefined && first <= now - windowMs; first = log[0]) log.shift();
    },
    left(): number | null {
      return limit === null ? null : Math.max(0, limit - log.length);
    },
    waitMs(now: number): number {
      // The call `limit` calls back frees the slot; none while fewer than `limit` are logged.
      const freeing = limit === null ? undefined : log[log.length - limit];
      return freeing === undefined ? 0 : freeing + windowMs - now;
    },
    push(now: number): void {
      if (limit === null) return;
      log.push(now);
      if (log.length > limit) log.shift();
    },
  };
}

export function createRateBudget(
  options: Partial<RateBudgetOptions> & Pick<RateBudgetOptions, 'source'>,
): RateBudget {
  const C = 'createRateBudget';
  const opts = resolveOptions(C, RATE_BUDGET_DEFAULTS, options);
  const defaults = DEFAULT_RATE_LIMITS[opts.source];
  if (!defaults) throw new OptionsError(`${C}: unknown source ${JSON.stringify(opts.source)}`);
  const limits: Required<RateLimits> = Object.freeze({
    perSecond: opts.perSecond === undefined ? defaults.perSecond : opts.perSecond,
    perMinute: opts.perMinute === undefined ? defaults.perMinute : opts.perMinute,
    perDay: opts.perDay === undefined ? defaults.perDay : opts.perDay,
  });
  assertLimit('perSecond', limits.perSecond);
  assertLimit('perMinute', limits.perMinute);
  assertLimit('perDay', limits.perDay);
  const ratio = opts.windowMargin;
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 0.5)) {
    throw new OptionsError(
      `${C}: option "windowMargin" must be a ratio 0..0.5, got ${JSON.stringify(ratio)}`,
    );
  }
  const minMargin = opts.minMarginMs;
  if (typeof minMargin !== 'number' || !(minMargin >= 0 && minMargin <= 10_000)) {
    throw new OptionsError(
      `${C}: option "minMarginMs" must be 0..10000 ms, got ${JSON.stringify(minMargin)}`,
    );
  }
  const maxSpacing = opts.maxSpacingWaitMs;
  if (typeof maxSpacing !== 'number' || !(maxSpacing >= 0 && maxSpacing <= 600_000)) {
    throw new OptionsError(
      `${C}: option "maxSpacingWaitMs" must be 0..600000 ms, got ${JSON.stringify(maxSpacing)}`,
    );
  }
  const marginsMs = Object.freeze({
    second: Math.max(minMargin, Math.round(SECOND_MS * ratio)),
    minute: Math.max(minMargin, Math.round(MINUTE_MS * ratio)),
  });
  const clock = opts.clock;
  const second = slidingWindow(limits.perSecond, SECOND_MS + marginsMs.second);
  const minute = slidingWindow(limits.perMinute, MINUTE_MS + marginsMs.minute);
  // The local day starts `marginsMs.minute` after 00:00 UTC: a clock running that much fast cannot
  // spend tomorrow's quota while the provider still counts today.
  const dayOf = (now: number): number => Math.floor((now - marginsMs.minute) / DAY_MS);
  const dayStart = (d: number): number => d * DAY_MS + marginsMs.minute;
  let day = -1;
  let usedToday = 0;
  let blockedUntil = 0;

  const roll = (now: number): void => {
    second.roll(now);
    minute.roll(now);
    const today = dayOf(now);
    if (today !== day) {
      day = today;
      usedToday = 0;
    }
  };

  /** The wait of each kind, at `now` (after roll). */
  const waits = (now: number) => ({
    block: Math.max(0, blockedUntil - now),
    day: limits.perDay !== null && usedToday >= limits.perDay ? dayStart(day + 1) - now : 0,
    minute: minute.waitMs(now),
    second: second.waitMs(now),
  });

  const waitMs = (): number => {
    const now = clock.now();
    roll(now);
    const w = waits(now);
    return Math.max(w.block, w.day, w.minute, w.second);
  };

  const take = (symbol?: string): void => {
    const now = clock.now();
    roll(now);
    const w = waits(now);
    const wait = Math.max(w.block, w.day, w.minute, w.second);
    if (wait > 0) {
      const which =
        w.day > 0
          ? `daily quota of ${limits.perDay} spent`
          : w.block > 0
            ? 'provider asked us to wait'
            : w.minute > 0
              ? `${limits.perMinute} requests per minute spent`
              : `${limits.perSecond} requests per second spent`;
      throw new FetchError({
        kind: 'rate_limited',
        source: opts.source,
        symbol,
        retryAfterMs: wait,
        message: `local rate budget: ${which}; retry in ${wait} ms`,
      });
    }
    second.push(now);
    minute.push(now);
    usedToday++;
  };

  const sleep = (ms: number, signal: AbortSignal | undefined, symbol: string | undefined): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const aborted = (): FetchError =>
        new FetchError({
          kind: 'aborted',
          source: opts.source,
          symbol,
          message: 'request aborted by the caller',
        });
      if (signal?.aborted) return reject(aborted());
      const onAbort = (): void => {
        timer.cancel();
        reject(aborted());
      };
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const timer = isScheduler(clock) ? clock.setTimeout(done, ms) : systemClock.setTimeout(done, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });

  return {
    source: opts.source,
    limits,
    marginsMs,
    waitMs,
    take,
    async acquire(symbol, signal) {
      for (;;) {
        const now = clock.now();
        roll(now);
        const w = waits(now);
        const spacingOnly = w.second > 0 && w.block === 0 && w.day === 0 && w.minute === 0;
        if (!spacingOnly || w.second > maxSpacing) return take(symbol);
        // Re-checked after the wait: another caller may have taken the slot first.
        await sleep(w.second, signal, symbol);
      }
    },
    block(ms) {
      if (Number.isFinite(ms) && ms > 0) blockedUntil = Math.max(blockedUntil, clock.now() + ms);
    },
    exhaustDay() {
      roll(clock.now());
      if (limits.perDay !== null) usedToday = limits.perDay;
      else blockedUntil = Math.max(blockedUntil, (Math.floor(clock.now() / DAY_MS) + 1) * DAY_MS);
    },
    snapshot() {
      const now = clock.now();
      roll(now);
      // A block from the provider (429, spent quota) means nothing may be sent until it ends, whatever
      // the local counts say; health and the fallback read this to skip the source.
      const blocked = blockedUntil > now;
      const dayEnd = (day + 1) * DAY_MS;
      return {
        perMinuteLeft: blocked ? 0 : minute.left(),
        perDayLeft:
          limits.perDay === null
            ? null
            : blocked && blockedUntil >= dayEnd
              ? 0
              : Math.max(0, limits.perDay - usedToday),
        dayResetsAt: limits.perDay === null ? null : dayEnd,
        blockedUntil: blocked ? blockedUntil : null,
      };
    },
  };
}
