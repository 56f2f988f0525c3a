import { PricePath, prng, prngFirst } from './walk';

const params = {
  seed: 7,
  symbol: 'BTCUSD',
  startPrice: 60_000,
  minuteVol: 0.0002,
  epoch: Date.UTC(2024, 0, 1),
};
const DAY = 86_400_000;

describe('PricePath', () => {
  it('gives the same prices whatever order the days are asked in (day opens kept at checkpoints only)', () => {
    const farFirst = new PricePath(params);
    const inOrder = new PricePath(params);
    const times = [1000, 999, 1001, 640, 65, 64, 63, 1, -1, -130].map((d) => params.epoch + d * DAY + 37_000);
    const far = times.map((t) => farFirst.priceAt(t));
    // Walk every day up to the farthest one first, then ask the same times.
    for (let d = 0; d <= 1001; d++) inOrder.priceAt(params.epoch + d * DAY);
    for (let d = 0; d >= -130; d--) inOrder.priceAt(params.epoch + d * DAY);
    expect(times.map((t) => inOrder.priceAt(t))).toEqual(far);
  });

  it('prngFirst is the first value of prng', () => {
    for (const seed of [0, 1, 0x7fffffff, 0xffffffff, 123456789]) expect(prngFirst(seed)).toBe(prng(seed)());
  });
});

describe('PricePath.wickOf', () => {
  it('writes what wick() returns, minute for minute', () => {
    const path = new PricePath(params);
    for (let m = -5000; m < 200_000; m += 97) {
      const w = path.wick(m);
      path.wickOf(m);
      expect([path.wickUp, path.wickDown]).toEqual([w.up, w.down]);
    }
  });
});
