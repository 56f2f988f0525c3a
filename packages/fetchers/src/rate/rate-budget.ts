import {
  FetchError,
  OptionsError,
  TIMEFRAME_MS,
  resolveOptions,
  systemClock,
  type Clock,
  type RateBudgetSnapshot,
  type SourceName,
} from '@pipeline/core';

/** Request budgets of a source: null means "no limit of that kind". */
export interface RateLimits {
  /** Requests per rolling 60 s. */
  perMinute: number | null;
  /** Requests per UTC calendar day (resets at 00:00 UTC). */
  perDay: number | null;
}

/**
 * Free-tier budgets of each source. Yahoo publishes none; 60/min is a conservative figure that
 * stays well below the rate at which its edge starts answering `429 Too Many Requests`.
 */
export const DEFAULT_RATE_LIMITS: Readonly<Record<SourceName, Readonly<RateLimits>>> = Object.freeze({
  yahoo: Object.freeze({ perMinute: 60, perDay: null }),
  alphavantage: Object.freeze({ perMinute: 5, perDay: 25 }),
  twelvedata: Object.freeze({ perMinute: 8, perDay: 800 }),
  polygon: Object.freeze({ perMinute: 5, perDay: null }),
  replay: Object.freeze({ perMinute: null, perDay: null }),
  synthetic: Object.freeze({ perMinute: null, perDay: null }),
});

export interface RateBudgetOptions {
  /** Source the budget belongs to (names the errors). */
  source: SourceName;
  /** Requests allowed in any rolling 60 s; null: unlimited. @default DEFAULT_RATE_LIMITS[source].perMinute */
  perMinute: number | null | undefined;
  /** Requests allowed per UTC day; null: unlimited. @default DEFAULT_RATE_LIMITS[source].perDay */
  perDay: number | null | undefined;
  /** Time source. @default systemClock */
  clock: Clock;
}

export const RATE_BUDGET_DEFAULTS: Readonly<RateBudgetOptions> = Object.freeze({
  source: 'yahoo',
  perMinute: undefined,
  perDay: undefined,
  clock: systemClock,
});

const MINUTE_MS = 60_000;
const DAY_MS = TIMEFRAME_MS['1d'];

/**
 * Client-side request budget: a sliding 60-second log plus a fixed UTC-day counter. Taking a token
 * when either is spent throws `rate_limited` with `retryAfterMs`, so no request is sent that the
 * provider would refuse (and count against the day quota).
 */
export interface RateBudget {
  readonly source: SourceName;
  readonly limits: Readonly<RateLimits>;
  /** Spends one request or throws a `rate_limited` {@link FetchError} without spending. */
  take(symbol?: string): void;
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

export function createRateBudget(
  options: Partial<RateBudgetOptions> & Pick<RateBudgetOptions, 'source'>,
): RateBudget {
  const opts = resolveOptions('createRateBudget', RATE_BUDGET_DEFAULTS, options);
  const defaults = DEFAULT_RATE_LIMITS[opts.source];
  if (!defaults) throw new OptionsError(`createRateBudget: unknown source ${JSON.stringify(opts.source)}`);
  const limits: RateLimits = Object.freeze({
    perMinute: opts.perMinute === undefined ? defaults.perMinute : opts.perMinute,
    perDay: opts.perDay === undefined ? defaults.perDay : opts.perDay,
  });
  assertLimit('perMinute', limits.perMinute);
  assertLimit('perDay', limits.perDay);
  const clock = opts.clock;
  // Send times inside the last 60 s, oldest first; never longer than perMinute.
  const log: number[] = [];
  let day = -1;
  let usedToday = 0;
  let blockedUntil = 0;

  const roll = (now: number): void => {
    while (log.length > 0 && log[0] <= now - MINUTE_MS) log.shift();
    const today = Math.floor(now / DAY_MS);
    if (today !== day) {
      day = today;
      usedToday = 0;
    }
  };

  const waitMs = (): number => {
    const now = clock.now();
    roll(now);
    let wait = Math.max(0, blockedUntil - now);
    if (limits.perDay !== null && usedToday >= limits.perDay) wait = Math.max(wait, (day + 1) * DAY_MS - now);
    if (limits.perMinute !== null && log.length >= limits.perMinute) {
      wait = Math.max(wait, log[log.length - limits.perMinute] + MINUTE_MS - now);
    }
    return wait;
  };

  return {
    source: opts.source,
    limits,
    waitMs,
    take(symbol) {
      const wait = waitMs();
      if (wait > 0) {
        const which =
          limits.perDay !== null && usedToday >= limits.perDay
            ? `daily quota of ${limits.perDay} spent`
            : blockedUntil > clock.now()
              ? 'provider asked us to wait'
              : `${limits.perMinute} requests per minute spent`;
        throw new FetchError({
          kind: 'rate_limited',
          source: opts.source,
          symbol,
          retryAfterMs: wait,
          message: `local rate budget: ${which}; retry in ${wait} ms`,
        });
      }
      const now = clock.now();
      if (limits.perMinute !== null) {
        log.push(now);
        if (log.length > limits.perMinute) log.shift();
      }
      usedToday++;
    },
    block(ms) {
      if (Number.isFinite(ms) && ms > 0) blockedUntil = Math.max(blockedUntil, clock.now() + ms);
    },
    exhaustDay() {
      roll(clock.now());
      if (limits.perDay !== null) usedToday = limits.perDay;
      else blockedUntil = Math.max(blockedUntil, (day + 1) * DAY_MS);
    },
    snapshot() {
      const now = clock.now();
      roll(now);
      // A block from the provider (429, spent quota) means nothing may be sent until it ends, whatever
      // the local counts say; health and the fallback read this to skip the source.
      const blocked = blockedUntil > now;
      const dayEnd = (day + 1) * DAY_MS;
      return {
        perMinuteLeft: blocked
          ? 0
          : limits.perMinute === null
            ? null
            : Math.max(0, limits.perMinute - log.length),
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
