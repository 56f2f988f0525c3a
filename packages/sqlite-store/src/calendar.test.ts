import { isPipelineError } from '@pipeline/core';
import {
  createUsEquityCalendar,
  expectedBarTimes,
  fxCalendar,
  resolveCalendar,
  alwaysOpenCalendar,
} from './calendar';

const H = 3_600_000;
const iso = (ts: number): string => new Date(ts).toISOString();

describe('fx calendar', () => {
  it('opens Sunday 22:00 UTC and closes Friday 22:00 UTC', () => {
    // 2024-01-03 is a Wednesday.
    const sessions = fxCalendar(Date.UTC(2024, 0, 3), Date.UTC(2024, 0, 10));
    expect(sessions.map((s) => [iso(s.from), iso(s.to)])).toEqual([
      ['2023-12-31T22:00:00.000Z', '2024-01-05T22:00:00.000Z'],
      ['2024-01-07T22:00:00.000Z', '2024-01-12T22:00:00.000Z'],
    ]);
  });

  it('expects 120 hourly bars per week and none on Saturday', () => {
    const from = Date.UTC(2024, 0, 6); // Saturday 00:00
    const bars = [...expectedBarTimes(fxCalendar, '1h', from, from + 7 * 24 * H)];
    expect(bars).toHaveLength(120);
    expect(iso(bars[0]!)).toBe('2024-01-07T22:00:00.000Z');
    expect(bars.some((t) => new Date(t).getUTCDay() === 6)).toBe(false);
  });
});

describe('us-equity calendar', () => {
  const cal = createUsEquityCalendar();

  it('follows New York daylight saving time', () => {
    const winter = cal(Date.UTC(2024, 0, 2), Date.UTC(2024, 0, 3));
    expect(winter.map((s) => [iso(s.from), iso(s.to)])).toEqual([
      ['2024-01-02T14:30:00.000Z', '2024-01-02T21:00:00.000Z'],
    ]);
    const summer = cal(Date.UTC(2024, 6, 2), Date.UTC(2024, 6, 3));
    expect(summer.map((s) => [iso(s.from), iso(s.to)])).toEqual([
      ['2024-07-02T13:30:00.000Z', '2024-07-02T20:00:00.000Z'],
    ]);
  });

  it('expects 390 one-minute bars per regular day, none at weekends', () => {
    const fri = Date.UTC(2024, 0, 5);
    expect([...expectedBarTimes(cal, '1m', fri, fri + 24 * H)]).toHaveLength(390);
    expect([...expectedBarTimes(cal, '1m', fri + 24 * H, fri + 72 * H)]).toHaveLength(0);
    // An hourly bar is expected when it overlaps the session: 14:00..20:00 UTC in winter = 7 bars.
    expect([...expectedBarTimes(cal, '1h', fri, fri + 24 * H)].map((t) => new Date(t).getUTCHours())).toEqual(
      [14, 15, 16, 17, 18, 19, 20],
    );
  });

  it('skips listed holidays and refuses a malformed one', () => {
    const withHoliday = createUsEquityCalendar({ holidays: ['2024-07-04'] });
    expect(withHoliday(Date.UTC(2024, 6, 4), Date.UTC(2024, 6, 5))).toEqual([]);
    expect(cal(Date.UTC(2024, 6, 4), Date.UTC(2024, 6, 5))).toHaveLength(1);
    expect(() => createUsEquityCalendar({ holidays: ['4/7/2024'] })).toThrow(/YYYY-MM-DD, got "4\/7\/2024"/);
  });
});

describe('resolveCalendar / expectedBarTimes', () => {
  it('resolves names and functions, rejects unknown names', () => {
    expect(resolveCalendar('24x7')).toBe(alwaysOpenCalendar);
    const custom = (): [] => [];
    expect(resolveCalendar(custom)).toBe(custom);
    let thrown: unknown;
    try {
      resolveCalendar('lse' as never);
    } catch (e) {
      thrown = e;
    }
    expect(isPipelineError(thrown, 'SQLITE_BAD_ARGUMENT')).toBe(true);
  });

  it('starts at the first aligned bar at or after from and stops before to', () => {
    const t0 = Date.UTC(2024, 0, 1);
    const bars = [...expectedBarTimes(alwaysOpenCalendar, '5m', t0 + 1, t0 + 20 * 60_000)];
    expect(bars.map((t) => (t - t0) / 60_000)).toEqual([5, 10, 15]);
  });
});
