import { TIMEFRAME_MS, alignTs, type Timeframe } from '@pipeline/core';
import { gapsAmong, type Gap } from './bar-queries';
import { createUsEquityCalendar, expectedBarTimes, resolveCalendar, type CalendarFunction } from './calendar';

/** The definition: walk every expected bar and collect the runs not stored (gaps() before gapsAmong). */
function walkGaps(
  stored: readonly number[],
  calendar: CalendarFunction,
  timeframe: Timeframe,
  from: number,
  to: number,
): Gap[] {
  const step = TIMEFRAME_MS[timeframe];
  const out: Gap[] = [];
  let current: Gap | null = null;
  let i = 0;
  let next = stored[0];
  for (const ts of expectedBarTimes(calendar, timeframe, from, to)) {
    while (next !== undefined && next < ts) next = stored[++i];
    if (next === ts) {
      if (current) out.push(current);
      current = null;
    } else if (current) {
      current.to = ts + step;
      current.missing++;
    } else {
      current = { from: ts, to: ts + step, missing: 1 };
    }
  }
  if (current) out.push(current);
  return out;
}

/** Deterministic pseudo-random numbers (a failing case reruns the same). */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
}

const T0 = Date.UTC(2024, 2, 7, 13, 17); // a Thursday, off every grid; US DST starts that Sunday
const calendars: [string, CalendarFunction][] = [
  ['24x7', resolveCalendar('24x7')],
  ['fx', resolveCalendar('fx')],
  ['us-equity', createUsEquityCalendar({ holidays: ['2024-03-12'] })],
  // Overlapping, unsorted-in-length windows: the walk counts a bar once.
  [
    'overlapping windows',
    (from, to) => [
      { from, to: Math.min(to, from + 5 * 3_600_000) },
      { from: from + 2 * 3_600_000 + 7, to: Math.min(to, from + 9 * 3_600_000) },
      { from: from + 30 * 3_600_000, to },
    ],
  ],
];

describe('gapsAmong', () => {
  it.each(calendars)('finds the same gaps as walking every expected bar (%s)', (_name, calendar) => {
    const rand = lcg(7);
    for (const timeframe of ['1m', '5m', '1h', '4h', '1d'] as Timeframe[]) {
      const step = TIMEFRAME_MS[timeframe];
      for (let round = 0; round < 40; round++) {
        const from = T0 + Math.floor(rand() * 3 * 86_400_000);
        const to = from + Math.floor(rand() * 600 * step);
        const expected = [...expectedBarTimes(calendar, timeframe, from, to)];
        // Stored: a random share of the expected bars (whole runs too), plus bars off the grid and
        // on the grid in closed time, as a file written by other producers may hold.
        const stored = new Set<number>();
        const keep = rand();
        for (const ts of expected) if (rand() < keep) stored.add(ts);
        for (let k = 0; k < 5; k++) {
          const ts = from + Math.floor(rand() * Math.max(1, to - from));
          stored.add(rand() < 0.5 ? ts : alignTs(ts, timeframe));
        }
        const sorted = [...stored].filter((ts) => ts >= from && ts < to).sort((a, b) => a - b);
        expect(gapsAmong(sorted, calendar, timeframe, from, to)).toEqual(
          walkGaps(sorted, calendar, timeframe, from, to),
        );
      }
    }
  });

  it('gives the whole range as one gap on an empty 24x7 file, and none when every bar is stored', () => {
    const from = Date.UTC(2024, 0, 1);
    const to = from + 4 * 86_400_000;
    const all = resolveCalendar('24x7');
    expect(gapsAmong([], all, '1m', from, to)).toEqual([{ from, to, missing: 4 * 1440 }]);
    const every = [...expectedBarTimes(all, '1m', from, to)];
    expect(gapsAmong(every, all, '1m', from, to)).toEqual([]);
    expect(gapsAmong([], all, '1m', from, from)).toEqual([]);
  });
});
