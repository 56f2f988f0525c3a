import { OptionsError, assertNumberOption, resolveOptions } from '@pipeline/core';

/** Largest period accepted (TA-Lib's own limit). */
export const MAX_PERIOD = 100_000;

/** Resolves options and checks that every listed field is an integer period within [min, MAX_PERIOD]. */
export function resolvePeriods<T extends object>(
  component: string,
  defaults: Readonly<T>,
  options: Partial<T> | undefined,
  periods: Partial<Record<keyof T & string, number>>,
): Readonly<T> {
  const resolved = resolveOptions(component, defaults, options);
  for (const [name, min] of Object.entries(periods) as [string, number][]) {
    const value = (resolved as Record<string, unknown>)[name];
    assertNumberOption(component, name, value, min, MAX_PERIOD);
    if (!Number.isInteger(value)) {
      throw new OptionsError(
        `${component}: option "${name}" must be an integer, got ${JSON.stringify(value)}`,
      );
    }
  }
  return resolved;
}
