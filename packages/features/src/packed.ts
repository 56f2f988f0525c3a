// Packed indicator state: the O(1) close-price indicators of an IndicatorSet (EMA, SMA, RSI, MACD,
// Bollinger in TA-Lib mode, StdDev) and ATR keep their whole state in one Float64Array per set,
// updated by the functions below, instead of one object per indicator with a heap box per double
// field. At 20,000 symbols the set's update was bound by cache misses on those scattered objects
// (bench/hot-path.ts: ~0.85 us per symbol with 200 symbols, ~2.7 us with 20,000); one array keeps a
// symbol's state in a few adjacent cache lines.
//
// Each function is a line-by-line translation of its class's add/replace/getResult (same operations
// in the same order, so the results are the same doubles bit for bit); the layout of a slice is
// `[count, rejected, ...scalarFields, ...buffer]`, the class's snapshot order, so a slice converts to
// and from the class's IndicatorSnapshot by position (src/packed.test.ts checks both against the
// classes under random add/replace sequences with non-finite inputs).
//
// The arithmetic is deliberately there twice (here and in the classes): the classes calling these
// functions on a Float64Array of their own (tried 2026-12-06) made the incremental bench up to 1.5x
// slower (SMA add 3.2 -> 4.7 ns, RSI 6.7 -> 10.1-11.1, MACD 7.3 -> 8.9, Bollinger 7.9 -> 10.8-11.0;
// rsiAdd, macdAdd and bbAdd exceed V8's inlining limit of 460 bytes of bytecode, and a ring index or
// counter read as a double plus the step's constants cost the rest). README, "third round", has the
// figures. A change to one side needs the same change on the other; src/packed.test.ts holds them equal.
import { type IndicatorSnapshot, SNAPSHOT_VERSION } from './indicators/base';
import { TA_EPSILON } from './indicators/talib';

/** Kinds with a packed form. */
export const PACKED_EMA = 0;
export const PACKED_SMA = 1;
export const PACKED_RSI = 2;
export const PACKED_MACD = 3;
export const PACKED_BB = 4;
export const PACKED_SD = 5;
export const PACKED_ATR = 6;

/** The scalar fields of each packed kind, in the class's `scalarFields` order (after count, rejected). */
export const PACKED_SCALARS: readonly (readonly string[])[] = [
  ['sum', 'value', 'uSum', 'uValue'],
  ['total', 'value', 'pos', 'uTotal', 'uSlot', 'uValue'],
  ['prev', 'gain', 'loss', 'value', 'uPrev', 'uGain', 'uLoss', 'uValue'],
  [
    'slowSum',
    'fastSum',
    'sigSum',
    'slowEma',
    'fastEma',
    'sig',
    'uSlowSum',
    'uFastSum',
    'uSigSum',
    'uSlowEma',
    'uFastEma',
    'uSig',
  ],
  ['t1', 't2', 'mid', 'sd', 'pos', 'uT1', 'uT2', 'uSlot', 'uMid', 'uSd'],
  ['t1', 't2', 'value', 'pos', 'uT1', 'uT2', 'uSlot', 'uValue'],
  ['prevClose', 'sum', 'value', 'uPrevClose', 'uSum', 'uValue'],
];

/**
 * One packed indicator of a set's plan (shared by every set compiled from the same spec): where its
 * slice starts and its constant parameters. `p` is the period (or MACD's slow period), `lb` the
 * lookback, `k`/`k2`/`k3` the smoothing factors or multipliers, `n1` = period - 1, `buf` the offset
 * of the ring buffer in the slice and `len` its length.
 */
export class PackedStep {
  constructor(
    readonly kind: number,
    /** Offset of the slice in the set's array. */
    readonly o: number,
    /** Length of the slice. */
    readonly size: number,
    readonly p: number,
    readonly lb: number,
    readonly k: number,
    readonly k2: number,
    readonly k3: number,
    readonly n1: number,
    /** MACD: the fast period; MACD signal period in `sigP`. */
    readonly fast: number,
    readonly sigP: number,
    readonly fastStart: number,
    readonly buf: number,
    readonly len: number,
  ) {}
}

type S = Float64Array;

/** What the packed indicators read from a bar. */
export interface PackedBar {
  high: number;
  low: number;
  close: number;
}

/**
 * The bar being fed: close, high, low. The update functions read their input here rather than take it
 * as arguments: a double passed to a call V8 does not inline is boxed (a 16-byte heap number per
 * argument per call; the three of the engine's call were ~48 bytes per symbol per cycle).
 */
const IN = new Float64Array(3);

// Reads of a slot known to lie inside the array (offsets come from the plan): `?? NaN` satisfies
// noUncheckedIndexedAccess without a branch V8 keeps.

function emaAdd(s: S, o: number, t: PackedStep): void {
  const x = IN[0] ?? NaN;
  if (!(x - x === 0)) {
    s[o + 1] = (s[o + 1] ?? NaN) + 1;
    return;
  }
  const sum = s[o + 2] ?? NaN;
  const value = s[o + 3] ?? NaN;
  s[o + 4] = sum;
  s[o + 5] = value;
  const n = s[o] ?? NaN;
  if (n > t.lb) {
    s[o + 3] = (x - value) * t.k + value;
  } else {
    const sm = sum + x;
    s[o + 2] = sm;
    if (n === t.lb) s[o + 3] = sm / t.p;
  }
  s[o] = n + 1;
}

function emaReplace(s: S, o: number, t: PackedStep): void {
  const x = IN[0] ?? NaN;
  if (s[o] === 0 || !(x - x === 0)) {
    emaAdd(s, o, t);
    return;
  }
  s[o + 2] = s[o + 4] ?? NaN;
  s[o + 3] = s[o + 5] ?? NaN;
  s[o] = (s[o] ?? NaN) - 1;
  emaAdd(s, o, t);
}

function smaAdd(s: S, o: number, t: PackedStep): void {
  const x = IN[0] ?? NaN;
  if (!(x - x === 0)) {
    s[o + 1] = (s[o + 1] ?? NaN) + 1;
    return;
  }
  const b = o + t.buf;
  let p = s[o + 4] ?? NaN;
  const total = s[o + 2] ?? NaN;
  s[o + 5] = total;
  s[o + 6] = s[b + p] ?? NaN;
  s[o + 7] = s[o + 3] ?? NaN;
  s[b + p] = x;
  if (++p === t.len) p = 0;
  s[o + 4] = p;
  const n = s[o] ?? NaN;
  if (n >= t.lb) {
    const sm = total + x;
    s[o + 3] = sm / t.p;
    s[o + 2] = sm - (s[b + p] ?? NaN);
  } else {
    s[o + 2] = total + x;
  }
  s[o] = n + 1;
}

function smaReplace(s: S, o: number, t: PackedStep): void {
  const x = IN[0] ?? NaN;
  if (s[o] === 0 || !(x - x === 0)) {
    smaAdd(s, o, t);
    return;
  }
  let p = (s[o + 4] ?? NaN) - 1;
  if (p < 0) p = t.len - 1;
  s[o + 4] = p;
  s[o + t.buf + p] = s[o + 6] ?? NaN;
  s[o + 2] = s[o + 5] ?? NaN;
  s[o + 3] = s[o + 7] ?? NaN;
  s[o] = (s[o] ?? NaN) - 1;
  smaAdd(s, o, t);
}

function rsiAdd(s: S, o: number, t: PackedStep): void {
  const x = IN[0] ?? NaN;
  if (!(x - x === 0)) {
    s[o + 1] = (s[o + 1] ?? NaN) + 1;
    return;
  }
  const prev = s[o + 2] ?? NaN;
  let gain = s[o + 3] ?? NaN;
  let loss = s[o + 4] ?? NaN;
  s[o + 6] = prev;
  s[o + 7] = gain;
  s[o + 8] = loss;
  s[o + 9] = s[o + 5] ?? NaN;
  const n = s[o] ?? NaN;
  const d = x - prev;
  s[o + 2] = x;
  s[o] = n + 1;
  const period = t.p;
  if (n > period) {
    loss = loss * t.n1;
    gain = gain * t.n1;
    if (d < 0) loss -= d;
    else gain += d;
    loss /= period;
    gain /= period;
    s[o + 4] = loss;
    s[o + 3] = gain;
    const tt = gain + loss;
    s[o + 5] = -TA_EPSILON < tt && tt < TA_EPSILON ? 0 : 100 * (gain / tt);
  } else if (n > 0) {
    if (d < 0) loss -= d;
    else gain += d;
    if (n === period) {
      gain /= period;
      loss /= period;
      const tt = gain + loss;
      s[o + 5] = -TA_EPSILON < tt && tt < TA_EPSILON ? 0 : 100 * (gain / tt);
    }
    s[o + 3] = gain;
    s[o + 4] = loss;
  }
}

function rsiReplace(s: S, o: number, t: PackedStep): void {
  const x = IN[0] ?? NaN;
  if (s[o] === 0 || !(x - x === 0)) {
    rsiAdd(s, o, t);
    return;
  }
  s[o + 2] = s[o + 6] ?? NaN;
  s[o + 3] = s[o + 7] ?? NaN;
  s[o + 4] = s[o + 8] ?? NaN;
  s[o + 5] = s[o + 9] ?? NaN;
  s[o] = (s[o] ?? NaN) - 1;
  rsiAdd(s, o, t);
}

// MACD slice: 2 slowSum, 3 fastSum, 4 sigSum, 5 slowEma, 6 fastEma, 7 sig, 8..13 the undo copies.
function macdAdd(s: S, o: number, t: PackedStep): void {
  const x = IN[0] ?? NaN;
  if (!(x - x === 0)) {
    s[o + 1] = (s[o + 1] ?? NaN) + 1;
    return;
  }
  let slowSum = s[o + 2] ?? NaN;
  let fastSum = s[o + 3] ?? NaN;
  const sigSum = s[o + 4] ?? NaN;
  let slowEma = s[o + 5] ?? NaN;
  let fastEma = s[o + 6] ?? NaN;
  const sig = s[o + 7] ?? NaN;
  s[o + 8] = slowSum;
  s[o + 9] = fastSum;
  s[o + 10] = sigSum;
  s[o + 11] = slowEma;
  s[o + 12] = fastEma;
  s[o + 13] = sig;
  const n = s[o] ?? NaN;
  const seedAt = t.p - 1;
  s[o] = n + 1;
  if (n > seedAt) {
    slowEma = (x - slowEma) * t.k2 + slowEma;
    fastEma = (x - fastEma) * t.k + fastEma;
    s[o + 5] = slowEma;
    s[o + 6] = fastEma;
  } else {
    slowSum += x;
    s[o + 2] = slowSum;
    if (n >= t.fastStart) {
      fastSum += x;
      s[o + 3] = fastSum;
    }
    if (n < seedAt) return;
    slowEma = slowSum / t.p;
    fastEma = fastSum / t.fast;
    s[o + 5] = slowEma;
    s[o + 6] = fastEma;
  }
  const m = fastEma - slowEma;
  const j = n - seedAt;
  if (j >= t.sigP) {
    s[o + 7] = (m - sig) * t.k3 + sig;
  } else {
    const ss = sigSum + m;
    s[o + 4] = ss;
    if (j === t.sigP - 1) s[o + 7] = ss / t.sigP;
  }
}

function macdReplace(s: S, o: number, t: PackedStep): void {
  const x = IN[0] ?? NaN;
  if (s[o] === 0 || !(x - x === 0)) {
    macdAdd(s, o, t);
    return;
  }
  for (let i = 2; i < 8; i++) s[o + i] = s[o + i + 6] ?? NaN;
  s[o] = (s[o] ?? NaN) - 1;
  macdAdd(s, o, t);
}

// Bollinger (TA-Lib mode) slice: 2 t1, 3 t2, 4 mid, 5 sd, 6 pos, 7 uT1, 8 uT2, 9 uSlot, 10 uMid, 11 uSd.
function bbAdd(s: S, o: number, t: PackedStep): void {
  const x = IN[0] ?? NaN;
  if (!(x - x === 0)) {
    s[o + 1] = (s[o + 1] ?? NaN) + 1;
    return;
  }
  const b = o + t.buf;
  let p = s[o + 6] ?? NaN;
  const t1 = s[o + 2] ?? NaN;
  const t2 = s[o + 3] ?? NaN;
  s[o + 7] = t1;
  s[o + 8] = t2;
  s[o + 9] = s[b + p] ?? NaN;
  s[o + 10] = s[o + 4] ?? NaN;
  s[o + 11] = s[o + 5] ?? NaN;
  s[b + p] = x;
  if (++p === t.len) p = 0;
  s[o + 6] = p;
  const n = s[o] ?? NaN;
  if (n >= t.lb) {
    const s1 = t1 + x;
    const s2 = t2 + x * x;
    const mid = s1 / t.p;
    const v = s2 / t.p - mid * mid;
    const old = s[b + p] ?? NaN;
    s[o + 2] = s1 - old;
    s[o + 3] = s2 - old * old;
    s[o + 4] = mid;
    s[o + 5] = v < TA_EPSILON ? 0 : Math.sqrt(v);
  } else {
    s[o + 2] = t1 + x;
    s[o + 3] = t2 + x * x;
  }
  s[o] = n + 1;
}

function bbReplace(s: S, o: number, t: PackedStep): void {
  const x = IN[0] ?? NaN;
  if (s[o] === 0 || !(x - x === 0)) {
    bbAdd(s, o, t);
    return;
  }
  let p = (s[o + 6] ?? NaN) - 1;
  if (p < 0) p = t.len - 1;
  s[o + 6] = p;
  s[o + t.buf + p] = s[o + 9] ?? NaN;
  s[o + 2] = s[o + 7] ?? NaN;
  s[o + 3] = s[o + 8] ?? NaN;
  s[o + 4] = s[o + 10] ?? NaN;
  s[o + 5] = s[o + 11] ?? NaN;
  s[o] = (s[o] ?? NaN) - 1;
  bbAdd(s, o, t);
}

// StdDev slice: 2 t1, 3 t2, 4 value, 5 pos, 6 uT1, 7 uT2, 8 uSlot, 9 uValue.
function sdAdd(s: S, o: number, t: PackedStep): void {
  const x = IN[0] ?? NaN;
  if (!(x - x === 0)) {
    s[o + 1] = (s[o + 1] ?? NaN) + 1;
    return;
  }
  const b = o + t.buf;
  let p = s[o + 5] ?? NaN;
  const t1 = s[o + 2] ?? NaN;
  const t2 = s[o + 3] ?? NaN;
  s[o + 6] = t1;
  s[o + 7] = t2;
  s[o + 8] = s[b + p] ?? NaN;
  s[o + 9] = s[o + 4] ?? NaN;
  s[b + p] = x;
  if (++p === t.len) p = 0;
  s[o + 5] = p;
  const n = s[o] ?? NaN;
  if (n >= t.lb) {
    const s1 = t1 + x;
    const s2 = t2 + x * x;
    const m1 = s1 / t.p;
    const m2 = s2 / t.p;
    const old = s[b + p] ?? NaN;
    s[o + 2] = s1 - old;
    s[o + 3] = s2 - old * old;
    const v = m2 - m1 * m1;
    s[o + 4] = v < TA_EPSILON ? 0 : Math.sqrt(v) * t.k;
  } else {
    s[o + 2] = t1 + x;
    s[o + 3] = t2 + x * x;
  }
  s[o] = n + 1;
}

function sdReplace(s: S, o: number, t: PackedStep): void {
  const x = IN[0] ?? NaN;
  if (s[o] === 0 || !(x - x === 0)) {
    sdAdd(s, o, t);
    return;
  }
  let p = (s[o + 5] ?? NaN) - 1;
  if (p < 0) p = t.len - 1;
  s[o + 5] = p;
  s[o + t.buf + p] = s[o + 8] ?? NaN;
  s[o + 2] = s[o + 6] ?? NaN;
  s[o + 3] = s[o + 7] ?? NaN;
  s[o + 4] = s[o + 9] ?? NaN;
  s[o] = (s[o] ?? NaN) - 1;
  sdAdd(s, o, t);
}

// ATR slice: 2 prevClose, 3 sum, 4 value, 5 uPrevClose, 6 uSum, 7 uValue.
function atrAdd(s: S, o: number, t: PackedStep): void {
  const close = IN[0] ?? NaN;
  const high = IN[1] ?? NaN;
  const low = IN[2] ?? NaN;
  if (!(high - high === 0 && low - low === 0 && close - close === 0)) {
    s[o + 1] = (s[o + 1] ?? NaN) + 1;
    return;
  }
  const pc = s[o + 2] ?? NaN;
  const sum = s[o + 3] ?? NaN;
  const value = s[o + 4] ?? NaN;
  s[o + 5] = pc;
  s[o + 6] = sum;
  s[o + 7] = value;
  const n = s[o] ?? NaN;
  s[o] = n + 1;
  s[o + 2] = close;
  if (n === 0) return;
  let tr = high - low;
  const a = Math.abs(pc - high);
  if (a > tr) tr = a;
  const b = Math.abs(pc - low);
  if (b > tr) tr = b;
  if (n > t.p) {
    s[o + 4] = (value * t.n1 + tr) / t.p;
  } else {
    const sm = sum + tr;
    s[o + 3] = sm;
    if (n === t.p) s[o + 4] = sm / t.p;
  }
}

function atrReplace(s: S, o: number, t: PackedStep): void {
  const close = IN[0] ?? NaN;
  const high = IN[1] ?? NaN;
  const low = IN[2] ?? NaN;
  if (s[o] === 0 || !(high - high === 0 && low - low === 0 && close - close === 0)) {
    atrAdd(s, o, t);
    return;
  }
  s[o + 2] = s[o + 5] ?? NaN;
  s[o + 3] = s[o + 6] ?? NaN;
  s[o + 4] = s[o + 7] ?? NaN;
  s[o] = (s[o] ?? NaN) - 1;
  atrAdd(s, o, t);
}

/** Feeds one bar (its high, low and close) to every packed indicator of a set. */
export function packedUpdate(s: S, steps: readonly PackedStep[], bar: PackedBar, replace: boolean): void {
  IN[0] = bar.close;
  IN[1] = bar.high;
  IN[2] = bar.low;
  for (let i = 0; i < steps.length; i++) {
    const t = steps[i] as PackedStep; // i < steps.length
    const o = t.o;
    switch (t.kind) {
      case PACKED_EMA:
        if (replace) emaReplace(s, o, t);
        else emaAdd(s, o, t);
        break;
      case PACKED_SMA:
        if (replace) smaReplace(s, o, t);
        else smaAdd(s, o, t);
        break;
      case PACKED_RSI:
        if (replace) rsiReplace(s, o, t);
        else rsiAdd(s, o, t);
        break;
      case PACKED_MACD:
        if (replace) macdReplace(s, o, t);
        else macdAdd(s, o, t);
        break;
      case PACKED_BB:
        if (replace) bbReplace(s, o, t);
        else bbAdd(s, o, t);
        break;
      case PACKED_SD:
        if (replace) sdReplace(s, o, t);
        else sdAdd(s, o, t);
        break;
      default:
        if (replace) atrReplace(s, o, t);
        else atrAdd(s, o, t);
    }
  }
}

/** Whether the packed indicator is past its lookback (its class's `getResult()` is not null). */
export function packedStable(s: S, t: PackedStep): boolean {
  return (s[t.o] ?? NaN) > t.lb;
}

/** The single value of a one-output packed kind (meaningful when stable). */
export function packedValue(s: S, t: PackedStep): number {
  const o = t.o;
  switch (t.kind) {
    case PACKED_EMA:
      return s[o + 3] ?? NaN;
    case PACKED_SMA:
      return s[o + 3] ?? NaN;
    case PACKED_RSI:
      return s[o + 5] ?? NaN;
    case PACKED_SD:
      return s[o + 4] ?? NaN;
    default:
      return s[o + 4] ?? NaN; // ATR
  }
}

/** MACD's {macd, signal, histogram}, as `MACD.getResult()` computes them from its state. */
export function packedMacd(
  s: S,
  t: PackedStep,
  into: { macd: number; signal: number; histogram: number },
): void {
  const o = t.o;
  const sig = s[o + 7] ?? NaN;
  const macd = (s[o + 6] ?? NaN) - (s[o + 5] ?? NaN);
  into.macd = macd;
  into.signal = sig;
  into.histogram = macd - sig;
}

/** Bollinger's {upper, middle, lower}, as `BollingerBands.getResult()` computes them from its state. */
export function packedBollinger(
  s: S,
  t: PackedStep,
  into: { upper: number; middle: number; lower: number },
): void {
  const o = t.o;
  const mid = s[o + 4] ?? NaN;
  const d = (s[o + 5] ?? NaN) * t.k;
  into.middle = mid;
  into.upper = mid + d;
  into.lower = mid - d;
}

/**
 * Writes a class snapshot's state into a packed slice (null -> NaN, as the class's `restore` does).
 * The snapshot must already have been checked by the class's `restore`.
 */
export function packedLoad(s: S, t: PackedStep, snap: IndicatorSnapshot): void {
  const o = t.o;
  const names = PACKED_SCALARS[t.kind] ?? [];
  const sc = snap.scalars;
  s[o] = sc.count ?? NaN;
  s[o + 1] = sc.rejected ?? NaN;
  for (let i = 0; i < names.length; i++) s[o + 2 + i] = sc[names[i] ?? ''] ?? NaN;
  if (t.len > 0) {
    const from = snap.buffers.buf ?? [];
    for (let i = 0; i < t.len; i++) s[o + t.buf + i] = from[i] ?? NaN;
  }
}

/** The class snapshot of a packed slice (non-finite -> null, as the class's `snapshot` does). */
export function packedSnapshot(
  s: S,
  t: PackedStep,
  kind: string,
  params: Record<string, number | string>,
): IndicatorSnapshot {
  const o = t.o;
  const fin = (v: number): number | null => (Number.isFinite(v) ? v : null);
  const names = PACKED_SCALARS[t.kind] ?? [];
  // count and rejected as they are (the class does not filter them either).
  const scalars: Record<string, number | null> = { count: s[o] ?? NaN, rejected: s[o + 1] ?? NaN };
  for (let i = 0; i < names.length; i++) scalars[names[i] ?? ''] = fin(s[o + 2 + i] ?? NaN);
  const buffers: Record<string, (number | null)[]> = {};
  if (t.len > 0) buffers.buf = Array.from(s.subarray(o + t.buf, o + t.buf + t.len), fin);
  return { kind, version: SNAPSHOT_VERSION, params: { ...params }, scalars, buffers };
}
