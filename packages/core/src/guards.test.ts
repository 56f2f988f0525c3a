import { isRecord } from './guards';

it('isRecord accepts plain objects and rejects null, arrays and primitives', () => {
  expect(isRecord({ a: 1 })).toBe(true);
  expect(isRecord(Object.create(null))).toBe(true);
  for (const v of [null, undefined, [], [1], 'x', 1, true]) expect(isRecord(v)).toBe(false);
});
