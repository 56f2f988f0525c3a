const POW10 = Array.from({ length: 17 }, (_, k) => 10 ** k);

/**
 * The reference rule, by decimal strings: the shortest of `toPrecision(1..9)` whose float32 is `f`.
 * About 5 us a value; {@link shortestFloat32Decimal} takes a faster path in the price range.
 */
export function shortestFloat32DecimalByString(value: number): number {
  if (!Number.isFinite(value)) return value;
  const f = Math.fround(value);
  if (f !== value) return value;
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === f) return candidate;
  }
  return value;
}

/**
 * The decimal a provider meant by a float32 value widened to double: Yahoo's chart arrays hold float32
 * numbers, so 225.89 arrives as 225.88999938964844. Returns the shortest decimal (1 to 9 significant
 * digits, the most a float32 needs) that rounds to the same float32, e.g. 225.89; a half-cent 224.565
 * stays 224.565 (rounding to a tick size would not). A value that is not exactly a float32 was not
 * widened from one and is returned as is, as are non-finite values.
 *
 * Between 1e-4 and 1e7 it tries 0, 1, 2, ... decimal places with `Math.round(v * 10^k) / 10^k` (an
 * exact integer over an exact power of ten: IEEE division gives the double nearest that decimal, the
 * same number `Number(string)` gives); fewest places is fewest significant digits at a fixed
 * magnitude. Property-tested against {@link shortestFloat32DecimalByString}.
 */
export function shortestFloat32Decimal(value: number): number {
  if (!Number.isFinite(value)) return value;
  const f = Math.fround(value);
  if (f !== value) return value;
  const abs = Math.abs(value);
  if (abs < 1e-4 || abs >= 1e7) return shortestFloat32DecimalByString(value);
  for (const p of POW10) {
    const candidate = Math.round(value * p) / p;
    if (Math.fround(candidate) === f) return candidate;
  }
  return shortestFloat32DecimalByString(value);
}
