import {
  FetchError,
  FETCH_ERROR_KINDS,
  isFetchError,
  isPipelineError,
  OptionsError,
  PipelineError,
  resolveOptions,
  assertNumberOption,
} from './index';

describe('errors', () => {
  it('recognises pipeline errors by brand, also across copies of the class', () => {
    const e = new PipelineError('X_CODE', 'boom', { cause: new Error('root') });
    expect(isPipelineError(e)).toBe(true);
    expect(isPipelineError(e, 'X_CODE')).toBe(true);
    expect(isPipelineError(e, 'OTHER')).toBe(false);
    expect(isPipelineError(new Error('plain'))).toBe(false);
    expect((e.cause as Error).message).toBe('root');
    // A structurally identical object from another copy carries the same global symbol brand.
    const foreign = Object.defineProperty(new Error('x'), Symbol.for('@pipeline/error'), { value: true });
    expect(isPipelineError(foreign)).toBe(true);
  });

  it('gives each fetch error kind its documented policy', () => {
    for (const [kind, policy] of Object.entries(FETCH_ERROR_KINDS)) {
      const e = new FetchError({
        kind: kind as keyof typeof FETCH_ERROR_KINDS,
        source: 'yahoo',
        message: 'm',
      });
      expect(e.code).toBe(policy.code);
      expect(e.retryable).toBe(policy.retryable);
      expect(e.countsForBreaker).toBe(policy.countsForBreaker);
      expect(e.tryNextSource).toBe(policy.tryNextSource);
      expect(isFetchError(e)).toBe(true);
    }
    const limited = new FetchError({
      kind: 'rate_limited',
      source: 'twelvedata',
      message: 'slow down',
      retryAfterMs: 30_000,
      status: 429,
    });
    expect(limited.message).toBe('[twelvedata] slow down');
    expect(limited.countsForBreaker).toBe(false);
    expect(limited.retryAfterMs).toBe(30_000);
    expect(isFetchError(new OptionsError('x'))).toBe(false);
  });
});

describe('resolveOptions', () => {
  const defaults: Readonly<{ size: number; name: string }> = Object.freeze({ size: 10, name: 'a' });

  it('merges defaults, ignores undefined and freezes', () => {
    const o = resolveOptions('Thing', defaults, { size: 3, name: undefined });
    expect(o).toEqual({ size: 3, name: 'a' });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('rejects a misspelled option by name', () => {
    expect(() => resolveOptions('Thing', defaults, { sise: 3 } as never)).toThrow(
      'Thing: unknown option "sise"; known options: name, size',
    );
  });

  it('quotes a bad numeric value', () => {
    expect(() => assertNumberOption('Thing', 'size', -1, 0)).toThrow(
      'option "size" must be a number in [0, Infinity], got -1',
    );
    expect(() => assertNumberOption('Thing', 'size', Number.NaN, 0)).toThrow(OptionsError);
    expect(() => assertNumberOption('Thing', 'size', 5, 0, 10)).not.toThrow();
  });
});
