import { NotStableError, SnapshotError } from '../errors';

/** Snapshot format version; bumped when a state layout changes. */
export const SNAPSHOT_VERSION = 1;

/**
 * Serialisable state of one indicator (plain JSON). Holds the running sums, ring buffers and the
 * undo record of the last update, so `replace()` still works after `restore()`.
 */
export interface IndicatorSnapshot {
  kind: string;
  version: number;
  /** The resolved parameters; `restore()` refuses a snapshot taken with other parameters. */
  params: Record<string, number | string>;
  /** Scalar state by field name; non-finite numbers are stored as null. */
  scalars: Record<string, number | null>;
  /** Ring buffers by field name. */
  buffers: Record<string, (number | null)[]>;
}

/**
 * The incremental contract every indicator implements.
 *
 * - `add(x)` appends a closed (or new forming) input; `replace(x)` replaces the latest input, any
 *   number of times (the forming bar). Both are O(1) in time and memory and allocate nothing.
 * - `lookback` is TA-Lib's lookback: the index of the first valid output when the first input has
 *   index 0. The indicator is stable once `count > lookback`.
 * - Results that are objects are reused between updates: copy them if you keep them.
 * - Non-finite inputs are ignored and counted in `rejected` (bad data must not break the loop).
 */
export interface Indicator<TInput, TResult> {
  /** Short name with parameters, e.g. `rsi(14)`. */
  readonly label: string;
  /** Index of the first valid output (TA-Lib lookback). */
  readonly lookback: number;
  /** Inputs accepted so far (a replace does not count). */
  readonly count: number;
  /** Inputs ignored because they were not finite numbers. */
  readonly rejected: number;
  add(input: TInput): void;
  replace(input: TInput): void;
  /** `replace ? replace(input) : add(input)`. */
  update(input: TInput, replace: boolean): void;
  isStable(): boolean;
  /** The latest value, or null during warm-up. */
  getResult(): TResult | null;
  /** The latest value; throws {@link NotStableError} (`FEATURES_NOT_STABLE`) during warm-up. */
  getResultOrThrow(): TResult;
  snapshot(): IndicatorSnapshot;
  /** Loads a snapshot of an indicator of the same kind and parameters (`FEATURES_BAD_SNAPSHOT` otherwise). */
  restore(snapshot: IndicatorSnapshot): void;
  /** Forgets every input. */
  reset(): void;
}

type Fields = Record<string, unknown>;

/** Shared plumbing: snapshot/restore by field name, the throwing getter and `update`. */
export abstract class IndicatorBase<TInput, TResult> implements Indicator<TInput, TResult> {
  abstract readonly label: string;
  abstract readonly lookback: number;
  count = 0;
  rejected = 0;
  protected abstract readonly kind: string;
  protected abstract readonly params: Record<string, number | string>;
  /** Names of the numeric fields that make up the state (undo record included). */
  protected abstract readonly scalarFields: readonly string[];
  /** Names of the Float64Array fields that make up the state. */
  protected abstract readonly bufferFields: readonly string[];

  abstract add(input: TInput): void;
  abstract replace(input: TInput): void;
  /** Stable once past TA-Lib's lookback (an indicator with another rule overrides this). */
  isStable(): boolean {
    return this.count > this.lookback;
  }
  abstract getResult(): TResult | null;
  protected abstract clear(): void;

  update(input: TInput, replace: boolean): void {
    if (replace) this.replace(input);
    else this.add(input);
  }

  getResultOrThrow(): TResult {
    const result = this.getResult();
    if (result === null) throw new NotStableError(this.label, this.count, this.lookback + 1);
    return result;
  }

  reset(): void {
    this.count = 0;
    this.rejected = 0;
    this.clear();
  }

  snapshot(): IndicatorSnapshot {
    const self = this as unknown as Fields;
    const scalars: Record<string, number | null> = { count: this.count, rejected: this.rejected };
    for (const name of this.scalarFields) {
      const v = self[name] as number;
      scalars[name] = Number.isFinite(v) ? v : null;
    }
    const buffers: Record<string, (number | null)[]> = {};
    for (const name of this.bufferFields) {
      buffers[name] = Array.from(self[name] as Float64Array, (v) => (Number.isFinite(v) ? v : null));
    }
    return { kind: this.kind, version: SNAPSHOT_VERSION, params: { ...this.params }, scalars, buffers };
  }

  restore(snapshot: IndicatorSnapshot): void {
    if (typeof snapshot !== 'object' || snapshot === null) {
      throw new SnapshotError(this.label, `snapshot must be an object, got ${String(snapshot)}`);
    }
    if (snapshot.kind !== this.kind || snapshot.version !== SNAPSHOT_VERSION) {
      throw new SnapshotError(
        this.label,
        `snapshot is ${JSON.stringify(snapshot.kind)} version ${JSON.stringify(snapshot.version)}, expected "${this.kind}" version ${SNAPSHOT_VERSION}`,
      );
    }
    const mine = JSON.stringify(this.params);
    if (JSON.stringify(snapshot.params) !== mine) {
      throw new SnapshotError(
        this.label,
        `snapshot parameters ${JSON.stringify(snapshot.params)} differ from ${mine}`,
      );
    }
    const self = this as unknown as Fields;
    const names = ['count', 'rejected', ...this.scalarFields];
    for (const name of names) {
      const v = snapshot.scalars?.[name];
      if (v !== null && typeof v !== 'number') {
        throw new SnapshotError(
          this.label,
          `snapshot field "${name}" must be a number or null, got ${JSON.stringify(v)}`,
        );
      }
    }
    const checked: [target: Float64Array, from: readonly (number | null)[]][] = [];
    for (const name of this.bufferFields) {
      const arr = snapshot.buffers?.[name];
      const target = self[name] as Float64Array;
      if (!Array.isArray(arr) || arr.length !== target.length) {
        throw new SnapshotError(this.label, `snapshot buffer "${name}" must hold ${target.length} numbers`);
      }
      checked.push([target, arr]);
    }
    for (const name of names) {
      const v = snapshot.scalars[name];
      self[name] = v === null ? NaN : v;
    }
    for (const [target, arr] of checked) {
      for (let i = 0; i < target.length; i++) target[i] = arr[i] ?? NaN;
    }
  }
}

/** True when `x` is a finite number; written so V8 keeps it to two float operations. */
export function isFiniteNumber(x: number): boolean {
  return x - x === 0;
}

/** Base of the indicators whose result is one number held in `value`. */
export abstract class NumberIndicatorBase<TInput> extends IndicatorBase<TInput, number> {
  /** The latest result (meaningful once stable). */
  protected value = NaN;

  getResult(): number | null {
    return this.count > this.lookback ? this.value : null;
  }

  /** The latest value or NaN during warm-up, without the null check (for tight loops). */
  valueOrNaN(): number {
    return this.count > this.lookback ? this.value : NaN;
  }
}
