import { createSymbolMapper } from '@pipeline/symbol-mapper';
import { createSqliteHistoryStore } from '@pipeline/sqlite-store';
import { cleanupTempDirs, tempSqlitePath } from '@pipeline/test-utils';
import { planChunks } from './bootstrap';
import { marketCalendar } from '../wiring/wiring';

describe('market calendars in bootstrap planning', () => {
  afterAll(cleanupTempDirs);

  it('maps asset classes to the store calendars', () => {
    const mapper = createSymbolMapper();
    expect(marketCalendar(mapper, 'EURUSD')).toBe('fx');
    expect(marketCalendar(mapper, 'XAUUSD')).toBe('fx');
    expect(marketCalendar(mapper, 'BTCUSD')).toBe('24x7');
    expect(marketCalendar(mapper, 'NAS100')).toBe('us-equity');
    expect(marketCalendar(mapper, 'AAPL')).toBe('us-equity');
    expect(marketCalendar(mapper, 'GER40')).toBe('fx');
  });

  it('plans no weekend chunks for FX and plans them for crypto', async () => {
    const store = createSqliteHistoryStore({ path: tempSqlitePath('calendar') });
    try {
      // Saturday 2024-01-06 00:00 UTC to Sunday 2024-01-07 20:00 UTC: the FX market is closed throughout.
      const from = Date.UTC(2024, 0, 6);
      const to = Date.UTC(2024, 0, 7, 20);
      expect(await planChunks(store, 'EURUSD', '1m', from, to, 'fx')).toEqual([]);
      const crypto = await planChunks(store, 'BTCUSD', '1m', from, to, '24x7');
      expect(crypto.reduce((n, c) => n + (c.to - c.from), 0)).toBe(to - from);
    } finally {
      await store.close();
    }
  });
});
