import { isFetchError, type FetchError } from '@pipeline/core';

/**
 * The FetchError a promise rejects with (any other outcome fails the test). With `secret`, also
 * checks that neither the message nor the cause's message carries it: every failure of a keyed
 * provider is checked for a leaked API key, not only the tests about keys.
 */
export async function failure(p: Promise<unknown>, secret?: string): Promise<FetchError> {
  try {
    await p;
  } catch (err) {
    if (!isFetchError(err)) throw err;
    if (secret !== undefined) {
      expect(err.message).not.toContain(secret);
      expect(String((err.cause as Error | undefined)?.message ?? '')).not.toContain(secret);
    }
    return err;
  }
  throw new Error('expected a FetchError');
}
