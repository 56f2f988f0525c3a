import { isPipelineError } from './errors';
import {
  CALENDAR_BAD_ARGUMENT,
  alwaysOpenCalendar,
  createUsEquityCalendar,
  expectedBarTimes,
  fxCalendar,
  isCalendarSpec,
  resolveCalendar,
} from './calendar';

const H = 3_600_000;
const iso = (ts: number): string => new Date(ts).toISOString();

describe('us-equity calendar across New York DST changes', () => {
  const cal = createUsEquityCalendar();
  const sessions = (from: string, to: string): string[][] =>
    cal(Date.parse(from), Date.parse(to)).map((s) => [iso(s.from), iso(s.to)]);

  it('moves the session one hour earlier in UTC the Monday after spring-forward (2024-03-10)', () => {
    expect(sessions('2024-03-08T00:00:00Z', '2024-03-12T00:00:00Z')).toEqual([
      ['2024-03-08T14:30:00.000Z', '2024-03-08T21:00:00.000Z'],
      ['2024-03-11T13:30:00.000Z', '2024-03-11T20:00:00.000Z'],
    ]);
  });

  it('moves it back the Monday after fall-back (2024-11-03)', () => {
    expect(sessions('2024-11-01T00:00:00Z', '2024-11-05T00:00:00Z')).toEqual([
      ['2024-11-01T13:30:00.000Z', '2024-11-01T20:00:00.000Z'],
      ['2024-11-04T14:30:00.000Z', '2024-11-04T21:00:00.000Z'],
    ]);
  });

  it('skips listed holidays and refuses a malformed one with a coded error', () => {
    expect(
      createUsEquityCalendar({ holidays: ['2024-07-04'] })(Date.UTC(2024, 6, 4), Date.UTC(2024, 6, 5)),
    ).toEqual([]);
    let thrown: unknown;
    try {
      createUsEquityCalendar({ holidays: ['4/7/2024'] });
    } catch (e) {
      thrown = e;
    }
    expect(isPipelineError(thrown, CALENDAR_BAD_ARGUMENT)).toBe(true);
    expect(String(thrown)).toMatch(/YYYY-MM-DD, got "4\/7\/2024"/);
  });
});

describe('fx and 24x7 calendars', () => {
  it('opens the FX week Sunday 22:00 UTC and closes it Friday 22:00 UTC all year', () => {
    const week = fxCalendar(Date.UTC(2024, 6, 3), Date.UTC(2024, 6, 4));
    expect(week.map((s) => [iso(s.from), iso(s.to)])).toEqual([
      ['2024-06-30T22:00:00.000Z', '2024-07-05T22:00:00.000Z'],
    ]);
    const from = Date.UTC(2024, 0, 6);
    expect([...expectedBarTimes(fxCalendar, '1h', from, from + 7 * 24 * H)]).toHaveLength(120);
    expect(alwaysOpenCalendar(5, 5)).toEqual([]);
  });

  it('resolves names, passes functions through and rejects unknown names with CALENDAR_BAD_ARGUMENT', () => {
    expect(resolveCalendar('24x7')).toBe(alwaysOpenCalendar);
    expect(resolveCalendar('fx')).toBe(fxCalendar);
    const custom = (): [] => [];
    expect(resolveCalendar(custom)).toBe(custom);
    expect(isCalendarSpec('us-equity')).toBe(true);
    expect(isCalendarSpec('lse')).toBe(false);
    let thrown: unknown;
    try {
      resolveCalendar('lse' as never);
    } catch (e) {
      thrown = e;
    }
    expect(isPipelineError(thrown, CALENDAR_BAD_ARGUMENT)).toBe(true);
  });
});
