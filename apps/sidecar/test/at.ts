// Checked reads for tests (issue 12: no non-null assertions), and the first values of a stream. A missing element fails the test with
// a message that names what was expected, instead of a TypeError further down.

/** `arr[i]` (negative i counts from the end, like Array#at), or throws naming the index and length. */
export function at<T>(arr: ArrayLike<T>, i: number, what = 'element'): T {
  const j = i < 0 ? arr.length + i : i;
  const v = j >= 0 && j < arr.length ? arr[j] : undefined;
  if (v === undefined) throw new Error(`expected ${what} at index ${i} of ${arr.length}`);
  return v;
}

/** `x` when it is neither undefined nor null, else throws naming what was expected. */
export function defined<T>(x: T | undefined | null, what = 'value'): T {
  if (x === undefined || x === null) throw new Error(`expected ${what}, got ${String(x)}`);
  return x;
}

/** The next `n` values of an async iterator (fewer if it ends first): a stream's first events. */
export async function take<T>(it: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}
