import { alignTs } from '@pipeline/core';
import { createGapRepair } from './gap-repair';
import { stageFixture } from './stage-fixtures';

const MIN = 60_000;

describe('gap repair', () => {
  it('fetches a noted gap into the store in the background, one repair at a time', async () => {
    const f = stageFixture();
    try {
      const repair = createGapRepair({
        ...f,
        timeframe: '1m',
        symbols: { calendar: () => '24x7' },
        now: () => f.clock.now(),
      });
      const to = alignTs(f.clock.now(), '1m');
      const gap = { symbol: 'EURUSD', from: to - 30 * MIN, to };
      repair.kick(); // nothing noted: nothing runs
      repair.enqueue(gap);
      expect(repair.pending).toBe(1);
      repair.kick();
      expect(repair.pending).toBe(0);
      await repair.idle();
      expect(await f.store.gaps({ ...gap, timeframe: '1m' })).toEqual([]);
      expect(f.log.text()).toMatch(/gap repaired/);
    } finally {
      await f.close();
    }
  });
});
