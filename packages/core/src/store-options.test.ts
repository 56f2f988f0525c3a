import { ManualClock } from './clock';
import { isPipelineError } from './errors';
import { assertIntegerOptions, assertSchedulerOption, assertTimeframeMsOption } from './store-options';

const thrown = (fn: () => void): unknown => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
};

describe('store option checks', () => {
  it('accept good values', () => {
    expect(() => assertIntegerOptions('x', { a: 1, b: 0 }, ['a', 'b'])).not.toThrow();
    expect(() => assertSchedulerOption('x', 'scheduler', new ManualClock(0))).not.toThrow();
    expect(() => assertTimeframeMsOption('x', 'retentionMs', { '1m': 60_000, '1d': 1 })).not.toThrow();
    expect(() => assertTimeframeMsOption('x', 'retentionMs', {})).not.toThrow();
  });

  it('reject bad values with INVALID_OPTIONS naming the option and the value', () => {
    const cases: [() => void, string][] = [
      [() => assertIntegerOptions('x', { a: 1.5 }, ['a']), 'x: option "a" must be an integer, got 1.5'],
      [
        () => assertSchedulerOption('x', 'scheduler', { now: () => 0 }),
        'x: option "scheduler" must have now() and setTimeout(), got object',
      ],
      [
        () => assertSchedulerOption('x', 'scheduler', null),
        'x: option "scheduler" must have now() and setTimeout(), got null',
      ],
      [
        () => assertTimeframeMsOption('x', 'retentionMs', null),
        'x: option "retentionMs" must be an object, got null',
      ],
      [
        () => assertTimeframeMsOption('x', 'retentionMs', { '2m': 1 }),
        'x: option "retentionMs" has unknown timeframe "2m"; known: ',
      ],
      [
        () => assertTimeframeMsOption('x', 'retentionMs', { '1m': 0 }),
        'x: option "retentionMs.1m" must be a number',
      ],
    ];
    for (const [fn, message] of cases) {
      const err = thrown(fn);
      expect(isPipelineError(err, 'INVALID_OPTIONS')).toBe(true);
      expect((err as Error).message).toContain(message);
    }
  });
});
