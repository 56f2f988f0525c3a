const BRAND = Symbol.for('@pipeline/error');

/**
 * Base of every error a @pipeline package throws. Recognise it with {@link isPipelineError}, not
 * `instanceof`: a bot may load two copies of a package, and the brand is shared across copies.
 */
export class PipelineError extends Error {
  /** Stable, documented string code, e.g. `FETCH_RATE_LIMITED`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

export function isPipelineError(value: unknown, code?: string): value is PipelineError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true &&
    (code === undefined || (value as PipelineError).code === code)
  );
}

/** Thrown at construction when an options object is invalid; quotes the bad value. */
export class OptionsError extends PipelineError {
  constructor(message: string) {
    super('INVALID_OPTIONS', message);
  }
}

/**
 * Validates `options` against the known keys: rejects unknown (misspelled) names, merges defaults,
 * and returns a frozen object.
 */
export function resolveOptions<T extends object>(
  component: string,
  defaults: Readonly<T>,
  options: Partial<T> | undefined,
): Readonly<T> {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new OptionsError(`${component}: options must be an object, got ${String(options)}`);
  }
  const known = new Set(Object.keys(defaults));
  for (const key of Object.keys(options ?? {})) {
    if (!known.has(key)) {
      throw new OptionsError(
        `${component}: unknown option "${key}"; known options: ${[...known].sort().join(', ')}`,
      );
    }
  }
  const merged = { ...defaults } as T;
  for (const [key, value] of Object.entries(options ?? {})) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return Object.freeze(merged);
}

/** Throws an {@link OptionsError} unless `value` is a finite number within [min, max]. */
export function assertNumberOption(
  component: string,
  name: string,
  value: unknown,
  min: number,
  max = Infinity,
): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new OptionsError(
      `${component}: option "${name}" must be a number in [${min}, ${max}], got ${JSON.stringify(value)}`,
    );
  }
}
