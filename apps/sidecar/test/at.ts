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

/**
 * Resolves once `cond()` holds, polling every 5 ms; rejects after `timeoutMs` naming `what`. For
 * waits on another party (a stream client's subscription reaching the hub) that a fixed sleep
 * guessed at: under load a 100 ms sleep was too short and the test waited for events it had missed.
 */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Resolves once `hub` has made more than `before` subscriptions (`hub.subscriptions` read before the
 * stream was opened): the stream is listening. Counted, not `subscribers`, which a client aborted by
 * the test before may lower meanwhile.
 */
export function subscribed(hub: { readonly subscriptions: number }, before: number): Promise<void> {
  return until(() => hub.subscriptions > before, `a stream subscription (after ${before})`);
}
