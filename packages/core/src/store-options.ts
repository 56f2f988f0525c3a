// Option checks the history stores (sqlite-store, pg-store) share: one implementation, so both reject
// the same bad values with the same message (core's OptionsError, code INVALID_OPTIONS).
import { TIMEFRAMES, isTimeframe } from './bar';
import { type Scheduler } from './clock';
import { OptionsError, assertNumberOption } from './errors';

/** Throws unless every named option of `options` is an integer. */
export function assertIntegerOptions<K extends string>(
  component: string,
  options: Readonly<Record<K, unknown>>,
  names: readonly K[],
): void {
  for (const name of names) {
    if (!Number.isInteger(options[name])) {
      throw new OptionsError(
        `${component}: option "${name}" must be an integer, got ${String(options[name])}`,
      );
    }
  }
}

/** Throws unless `value` is a {@link Scheduler} (has `now()` and `setTimeout()`). */
export function assertSchedulerOption(component: string, name: string, value: unknown): void {
  const s = value as Partial<Scheduler> | null;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.now !== 'function' ||
    typeof s.setTimeout !== 'function'
  ) {
    throw new OptionsError(
      `${component}: option "${name}" must have now() and setTimeout(), got ${s === null ? 'null' : typeof s}`,
    );
  }
}

/** Throws unless `value` maps known timeframes to a positive number of milliseconds. */
export function assertTimeframeMsOption(component: string, name: string, value: unknown): void {
  if (typeof value !== 'object' || value === null) {
    throw new OptionsError(`${component}: option "${name}" must be an object, got ${String(value)}`);
  }
  for (const [tf, ms] of Object.entries(value)) {
    if (!isTimeframe(tf)) {
      throw new OptionsError(
        `${component}: option "${name}" has unknown timeframe "${tf}"; known: ${TIMEFRAMES.join(', ')}`,
      );
    }
    assertNumberOption(component, `${name}.${tf}`, ms, 1);
  }
}
