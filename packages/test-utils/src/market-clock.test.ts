import { alwaysOpenCalendar, createUsEquityCalendar, fxCalendar } from '@pipeline/core';
import { openMarketClock, openMarketShiftDays, shiftedClock } from './market-clock';

const DAY = 86_400_000;
const HOUR = 3_600_000;
// 2026-12-05 is a Saturday.
const utc = (d: number, h: number, m = 0) => Date.UTC(2026, 11, d, h, m);

describe('openMarketShiftDays (FX: Sunday 22:00 to Friday 22:00 UTC)', () => {
  const oneDay = (now: number) => openMarketShiftDays({ lookbackMs: DAY, now });

  it('keeps a weekday whose previous day was open', () => {
    expect(oneDay(utc(2, 12))).toBe(0); // Wednesday
    expect(oneDay(utc(4, 20, 30))).toBe(0); // Friday, 20:30 + 1 h < 22:00
  });

  it('goes back whole days from the weekend and from its edges to the latest open window', () => {
    expect(oneDay(utc(4, 21, 30))).toBe(1); // Friday 21:30: the next hour crosses the close
    expect(oneDay(utc(5, 0, 30))).toBe(1); // Saturday 00:30 -> Friday 00:30
    expect(oneDay(utc(5, 23, 59))).toBe(2); // Saturday 23:59 -> Thursday 23:59
    expect(oneDay(utc(6, 2))).toBe(2); // Sunday 02:00 (CI) -> Friday 02:00
    expect(oneDay(utc(6, 22, 30))).toBe(3); // Sunday 22:30: open, but Saturday was not -> Thursday
    expect(oneDay(utc(7, 21))).toBe(3); // Monday 21:00: the lookback starts Sunday 21:00 (closed) -> Friday 21:00, open to 22:00
    expect(oneDay(utc(7, 23))).toBe(0); // Monday 23:00: open since Sunday 22:00
  });

  it('checks every instant of the window: the shifted window lies in one open FX week', () => {
    for (let now = utc(1, 0); now < utc(15, 0); now += 37 * 60_000) {
      const days = oneDay(now);
      const t = now - days * DAY;
      const sessions = fxCalendar(t - DAY, t + HOUR);
      expect(sessions).toHaveLength(1);
      expect(sessions[0]!.from).toBeLessThanOrEqual(t - DAY);
      expect(sessions[0]!.to).toBeGreaterThanOrEqual(t + HOUR);
      // The fewest days: one day less does not fit.
      if (days > 0) {
        const later = t + DAY;
        const s = fxCalendar(later - DAY, later + HOUR);
        expect(s.length === 1 && s[0]!.from <= later - DAY && s[0]!.to >= later + HOUR).toBe(false);
      }
    }
  });

  it('never shifts an always-open market, and gives up on a window no session covers', () => {
    expect(openMarketShiftDays({ lookbackMs: 3 * DAY, now: utc(5, 12), calendar: alwaysOpenCalendar })).toBe(
      0,
    );
    expect(() =>
      openMarketShiftDays({ lookbackMs: DAY, now: utc(5, 12), calendar: createUsEquityCalendar() }),
    ).toThrow(RangeError);
    // A US session (09:30-16:00 New York) covers a 1-hour window on a weekday.
    expect(
      openMarketShiftDays({
        lookbackMs: HOUR,
        aheadMs: HOUR,
        now: utc(5, 16),
        calendar: createUsEquityCalendar(),
      }),
    ).toBe(1);
  });
});

describe('shiftedClock', () => {
  it('runs in real time, whole days behind the wall clock, with real timers', async () => {
    const clock = shiftedClock(2);
    const before = Date.now();
    const t = clock.now();
    expect(clock.shiftDays).toBe(2);
    expect(t).toBeGreaterThanOrEqual(before - 2 * DAY);
    expect(t).toBeLessThanOrEqual(Date.now() - 2 * DAY);
    const start = Date.now();
    await new Promise<void>((resolve) => clock.setTimeout(resolve, 30));
    expect(Date.now() - start).toBeGreaterThanOrEqual(25);
    expect(clock.now() - t).toBeGreaterThanOrEqual(25);
    expect(() => shiftedClock(-1)).toThrow(RangeError);
    expect(() => shiftedClock(0.5)).toThrow(RangeError);
  });

  it('openMarketClock is the wall clock shifted by openMarketShiftDays', () => {
    const clock = openMarketClock({ lookbackMs: DAY });
    expect(clock.shiftDays).toBe(openMarketShiftDays({ lookbackMs: DAY }));
    const t = clock.now();
    const s = fxCalendar(t - DAY, t + HOUR);
    expect(s.length).toBe(1);
  });
});
