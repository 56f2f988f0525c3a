/**
 * Deterministic price paths. A path is a function of (seed, symbol, time) only, never of call order,
 * so two fetchers with the same seed agree bar for bar and a forming bar extends the same path it
 * will close on.
 *
 * Construction: a daily random walk of day-open prices (cached per symbol), and inside each UTC day
 * a 1-minute Brownian bridge from that day's open to the next day's open. Within a minute, prices
 * interpolate linearly plus a small bridged wiggle; every minute also has a deterministic wick that
 * widens its high/low.
 */

const MINUTES_PER_DAY = 1440;
/** Day opens are remembered every this many days (and wherever asked for). */
const DAY_OPEN_CHECKPOINT = 64;

/** FNV-1a over the string form of the parts: a stable 32-bit seed. */
export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  const text = parts.join('\u0000');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Mixes integers into a 32-bit seed without building strings (the hot path runs per minute). */
export function mixSeed(a: number, b: number, c = 0): number {
  let h = (a ^ Math.imul(b | 0, 0x9e3779b1) ^ Math.imul((c | 0) + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** mulberry32: small, fast, good enough for plausible market noise (not for cryptography). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The first value of {@link prng}(seed), without building the generator (the per-minute hot path). */
export function prngFirst(seed: number): number {
  const t0 = ((seed >>> 0) + 0x6d2b79f5) >>> 0;
  let t = Math.imul(t0 ^ (t0 >>> 15), t0 | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Standard normal deviates from a uniform source (Box-Muller). */
export function gaussian(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

export interface PathParams {
  seed: number;
  symbol: string;
  startPrice: number;
  /** Standard deviation of one minute's log return. */
  minuteVol: number;
  /** Epoch ms of day 0 (its open is `startPrice`). */
  epoch: number;
}

/** One symbol's path. Caches day opens and a few days of minute prices. */
export class PricePath {
  private readonly dayOpens = new Map<number, number>([[0, 0]]); // log price relative to start
  private readonly minuteCache = new Map<number, Float64Array>();
  private readonly dayVol: number;
  /** Per-stream seeds of this symbol: day steps, minute walks, seconds, wicks, volumes. */
  private readonly seeds: { day: number; min: number; sec: number; wick: number; vol: number };
  /** The day whose minutes were read last, and they (consecutive reads are mostly of the same day). */
  private lastDay = Number.NaN;
  private lastMinutes: Float64Array = new Float64Array(0);
  /** Written by {@link wickOf}. */
  wickUp = 0;
  wickDown = 0;

  constructor(private readonly p: PathParams) {
    this.dayVol = p.minuteVol * Math.sqrt(MINUTES_PER_DAY);
    const s = (stream: string): number => hashSeed(p.seed, p.symbol, stream);
    this.seeds = { day: s('day'), min: s('min'), sec: s('s'), wick: s('wick'), vol: s('vol') };
  }

  /** Log price at the open of day `d` (relative to the start price). */
  private dayOpen(d: number): number {
    const known = this.dayOpens.get(d);
    if (known !== undefined) return known;
    const step = d > 0 ? -1 : 1;
    let k = d;
    let value: number | undefined;
    while (value === undefined) value = this.dayOpens.get((k += step)); // nearest known day towards 0
    while (k !== d) {
      const next = k - step;
      const z = gaussian(prng(mixSeed(this.seeds.day, Math.max(k, next))))();
      value += step === -1 ? z * this.dayVol : -z * this.dayVol;
      // Kept: the day asked for and every 64th on the way (a path now ~1,000 days from its epoch
      // kept every day, ~40 bytes each per symbol); later days start from the nearest one kept,
      // adding the same steps in the same order, so the values are the same.
      if (next === d || next % DAY_OPEN_CHECKPOINT === 0) this.dayOpens.set(next, value);
      k = next;
    }
    return value;
  }

  /** Log prices at minutes 0..1440 of day `d` (1441 points: a bridge from open to next open). */
  private minutes(d: number): Float64Array {
    let arr = this.minuteCache.get(d);
    if (arr) return arr;
    const a = this.dayOpen(d);
    const b = this.dayOpen(d + 1);
    const g = gaussian(prng(mixSeed(this.seeds.min, d)));
    arr = new Float64Array(MINUTES_PER_DAY + 1);
    let w = 0;
    for (let i = 1; i <= MINUTES_PER_DAY; i++) {
      w += g() * this.p.minuteVol;
      arr[i] = w;
    }
    const end = w; // arr[MINUTES_PER_DAY]
    // i runs over 0..MINUTES_PER_DAY, within the array's MINUTES_PER_DAY + 1 cells.
    for (let i = 0; i <= MINUTES_PER_DAY; i++)
      arr[i] = a + (arr[i] ?? NaN) - (end - (b - a)) * (i / MINUTES_PER_DAY);
    const oldest = this.minuteCache.keys().next();
    if (this.minuteCache.size > 8 && oldest.done !== true) this.minuteCache.delete(oldest.value);
    this.minuteCache.set(d, arr);
    return arr;
  }

  /** Log price (relative to the start price) at the start of absolute minute `m` since the epoch. */
  logAtMinute(m: number): number {
    const d = Math.floor(m / MINUTES_PER_DAY);
    if (d !== this.lastDay) {
      this.lastMinutes = this.minutes(d);
      this.lastDay = d;
    }
    // 0 <= m - d * MINUTES_PER_DAY < MINUTES_PER_DAY since d = floor(m / MINUTES_PER_DAY).
    return this.lastMinutes[m - d * MINUTES_PER_DAY] ?? NaN;
  }

  /** Price at epoch-ms time `t` (second resolution inside a minute). */
  priceAt(t: number): number {
    const rel = t - this.p.epoch;
    const m = Math.floor(rel / 60_000);
    const frac = (rel - m * 60_000) / 60_000;
    const a = this.logAtMinute(m);
    const b = this.logAtMinute(m + 1);
    // A bridged wiggle: zero at both minute ends, so minute prices stay exactly on the path.
    const second = Math.floor(frac * 60);
    const wiggle =
      (prngFirst(mixSeed(this.seeds.sec, m, second)) - 0.5) * this.p.minuteVol * Math.sin(Math.PI * frac);
    return this.p.startPrice * Math.exp(a + (b - a) * frac + wiggle);
  }

  /** Absolute minute index (since the epoch) of time `t`. */
  minuteOf(t: number): number {
    return Math.floor((t - this.p.epoch) / 60_000);
  }

  /** Extra distance above/below the straight line that minute `m`'s high/low reach (log units). */
  wick(m: number): { up: number; down: number } {
    const r = prng(mixSeed(this.seeds.wick, m));
    // At least 0.5 x minuteVol: the in-minute wiggle of priceAt() never exceeds that, so a minute's
    // high/low bound every price quoted during it (a forming bar's high never has to shrink).
    return { up: (0.5 + r() * 0.8) * this.p.minuteVol, down: (0.5 + r() * 0.8) * this.p.minuteVol };
  }

  /** {@link wick}(m) into `wickUp` / `wickDown`: no generator and no result object per minute. */
  wickOf(m: number): void {
    // The two first values of prng(seed): mulberry32 advances its state by 0x6d2b79f5 per value.
    const seed = mixSeed(this.seeds.wick, m);
    this.wickUp = (0.5 + prngFirst(seed) * 0.8) * this.p.minuteVol;
    this.wickDown = (0.5 + prngFirst((seed + 0x6d2b79f5) >>> 0) * 0.8) * this.p.minuteVol;
  }

  /** Deterministic volume of minute `m`. */
  volume(m: number): number {
    return Math.round(50 + prngFirst(mixSeed(this.seeds.vol, m)) * 950);
  }
}
