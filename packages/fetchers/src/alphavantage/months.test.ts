import { avHistoryMonths } from './months';

const M5 = 300_000;

describe('avHistoryMonths (US/Eastern calendar months, no month that cannot hold a bar)', () => {
  it('a mid-month range asks for each month it touches', () => {
    expect(avHistoryMonths(Date.UTC(2020, 2, 15), Date.UTC(2020, 4, 9), M5, false)).toEqual([
      '2020-03',
      '2020-04',
      '2020-05',
    ]);
  });

  it('00:00 UTC on the 1st in summer is 20:00 EDT the day before: the previous month is not asked for', () => {
    // The old rule (from - 5 h) asked for June too.
    expect(avHistoryMonths(Date.UTC(2020, 6, 1), Date.UTC(2020, 6, 20), M5, true)).toEqual(['2020-07']);
    expect(avHistoryMonths(Date.UTC(2020, 6, 1), Date.UTC(2020, 6, 20), M5, false)).toEqual(['2020-07']);
  });

  it('00:00 UTC on the 1st in winter is 19:00 EST: the previous month holds post-market bars', () => {
    // 19:00..19:55 EST on Jan 31 open at or after `from` with extended hours; not in the regular session.
    expect(avHistoryMonths(Date.UTC(2020, 1, 1), Date.UTC(2020, 1, 10), M5, true)).toEqual([
      '2020-01',
      '2020-02',
    ]);
    expect(avHistoryMonths(Date.UTC(2020, 1, 1), Date.UTC(2020, 1, 10), M5, false)).toEqual(['2020-02']);
  });

  it('`to` before the first session of a month does not ask for that month', () => {
    // 2020-05-01 09:30 EDT = 13:30Z; a range ending at 13:00Z needs April only.
    expect(avHistoryMonths(Date.UTC(2020, 3, 20), Date.UTC(2020, 4, 1, 13), M5, false)).toEqual(['2020-04']);
    expect(avHistoryMonths(Date.UTC(2020, 3, 20), Date.UTC(2020, 4, 1, 13), M5, true)).toEqual([
      '2020-04',
      '2020-05',
    ]);
  });

  it('crosses a year and answers nothing for an empty range', () => {
    expect(avHistoryMonths(Date.UTC(2019, 11, 20), Date.UTC(2020, 0, 5), M5, false)).toEqual([
      '2019-12',
      '2020-01',
    ]);
    expect(avHistoryMonths(Date.UTC(2020, 0, 5), Date.UTC(2020, 0, 5), M5, false)).toEqual([]);
  });
});
