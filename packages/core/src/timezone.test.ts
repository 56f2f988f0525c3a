import {
  isKnownTimeZone,
  parseLocalDateTime,
  utcToWallMs,
  wallMsToUtcCandidates,
  zonedDayBounds,
  zonedTimeToUtc,
  zonedTimeToUtcCandidates,
  zonedWallClock,
  zoneOffsetMs,
} from './timezone';

const at = (s: string): number => Date.parse(s);
const H = 3_600_000;

// The 2024 transitions used below (from the IANA rules; checked against timeanddate.com):
// New York  spring 2024-03-10 02:00 EST -> 03:00 EDT (07:00Z), fall 2024-11-03 02:00 EDT -> 01:00 EST (06:00Z)
// London    spring 2024-03-31 01:00 GMT -> 02:00 BST (01:00Z), fall 2024-10-27 02:00 BST -> 01:00 GMT (01:00Z)
// Sydney    fall (April) 2024-04-07 03:00 AEDT -> 02:00 AEST (16:00Z on the 6th),
//           spring (October) 2024-10-06 02:00 AEST -> 03:00 AEDT (16:00Z on the 5th)
const cases = [
  {
    zone: 'America/New_York',
    forward: { at: at('2024-03-10T07:00:00Z'), before: -5 * H, after: -4 * H },
    skipped: {
      wall: { year: 2024, month: 3, day: 10, hour: 2, minute: 30 },
      utc: at('2024-03-10T07:30:00Z'),
    },
    back: { at: at('2024-11-03T06:00:00Z'), before: -4 * H, after: -5 * H },
    repeated: {
      wall: { year: 2024, month: 11, day: 3, hour: 1, minute: 30 },
      utc: [at('2024-11-03T05:30:00Z'), at('2024-11-03T06:30:00Z')],
    },
  },
  {
    zone: 'Europe/London',
    forward: { at: at('2024-03-31T01:00:00Z'), before: 0, after: H },
    skipped: {
      wall: { year: 2024, month: 3, day: 31, hour: 1, minute: 30 },
      utc: at('2024-03-31T01:30:00Z'),
    },
    back: { at: at('2024-10-27T01:00:00Z'), before: H, after: 0 },
    repeated: {
      wall: { year: 2024, month: 10, day: 27, hour: 1, minute: 30 },
      utc: [at('2024-10-27T00:30:00Z'), at('2024-10-27T01:30:00Z')],
    },
  },
  {
    zone: 'Australia/Sydney',
    forward: { at: at('2024-10-05T16:00:00Z'), before: 10 * H, after: 11 * H },
    skipped: {
      wall: { year: 2024, month: 10, day: 6, hour: 2, minute: 30 },
      utc: at('2024-10-05T16:30:00Z'),
    },
    back: { at: at('2024-04-06T16:00:00Z'), before: 11 * H, after: 10 * H },
    repeated: {
      wall: { year: 2024, month: 4, day: 7, hour: 2, minute: 30 },
      utc: [at('2024-04-06T15:30:00Z'), at('2024-04-06T16:30:00Z')],
    },
  },
] as const;

describe.each(cases)('$zone across both DST changes', (c) => {
  it('switches the offset exactly at each transition instant', () => {
    expect(zoneOffsetMs(c.forward.at - 1000, c.zone)).toBe(c.forward.before);
    expect(zoneOffsetMs(c.forward.at, c.zone)).toBe(c.forward.after);
    expect(zoneOffsetMs(c.back.at - 1000, c.zone)).toBe(c.back.before);
    expect(zoneOffsetMs(c.back.at, c.zone)).toBe(c.back.after);
  });

  it('reads a skipped (non-existent) wall time with the pre-jump offset', () => {
    expect(zonedTimeToUtcCandidates(c.skipped.wall, c.zone)).toEqual([c.skipped.utc]);
    expect(zonedTimeToUtc(c.skipped.wall, c.zone)).toBe(c.skipped.utc);
    // ...which is one hour after the jump on the new offset's clock.
    expect(c.skipped.utc - c.forward.at).toBe(30 * 60_000);
  });

  it('maps a repeated (ambiguous) wall time to its first occurrence and lists both', () => {
    expect(zonedTimeToUtcCandidates(c.repeated.wall, c.zone)).toEqual([...c.repeated.utc]);
    expect(zonedTimeToUtc(c.repeated.wall, c.zone)).toBe(c.repeated.utc[0]);
  });

  it('round-trips every minute of the two transition days', () => {
    for (const edge of [c.forward.at, c.back.at]) {
      for (let t = edge - 12 * H; t < edge + 12 * H; t += 60_000) {
        const wall = utcToWallMs(t, c.zone);
        expect(wallMsToUtcCandidates(wall, c.zone)).toContain(t);
        expect(new Date(wall).getUTCMinutes()).toBe(zonedWallClock(t, c.zone).minute);
      }
    }
  });

  it('gives 23 h and 25 h local days that tile time without gap or overlap', () => {
    for (const [edge, length] of [
      [c.forward.at, 23 * H],
      [c.back.at, 25 * H],
    ] as const) {
      const day = zonedDayBounds(edge, c.zone);
      expect(day.end - day.start).toBe(length);
      expect(zonedDayBounds(day.start - 1, c.zone).end).toBe(day.start);
      expect(zonedDayBounds(day.end, c.zone).start).toBe(day.end);
      for (let t = day.start; t < day.end; t += 15 * 60_000) expect(zonedDayBounds(t, c.zone)).toEqual(day);
    }
  });

  it('anchors a session start that falls into the skipped or repeated hour by the same rule', () => {
    const skippedMinutes = c.skipped.wall.hour * 60 + c.skipped.wall.minute;
    const repeatedMinutes = c.repeated.wall.hour * 60 + c.repeated.wall.minute;
    // The session of the transition day starts at the instant zonedTimeToUtc gives for that wall time.
    expect(zonedDayBounds(c.skipped.utc, c.zone, skippedMinutes).start).toBe(c.skipped.utc);
    expect(zonedDayBounds(c.skipped.utc - 60_000, c.zone, skippedMinutes).end).toBe(c.skipped.utc);
    expect(zonedDayBounds(c.repeated.utc[1], c.zone, repeatedMinutes).start).toBe(c.repeated.utc[0]);
    expect(zonedDayBounds(c.repeated.utc[0] - 60_000, c.zone, repeatedMinutes).end).toBe(c.repeated.utc[0]);
  });
});

describe('zonedTimeToUtc', () => {
  it('reads New York wall times with the summer and winter offsets, and other zones by their own rules', () => {
    expect(zonedTimeToUtc({ year: 2023, month: 8, day: 24, hour: 11, minute: 9 }, 'America/New_York')).toBe(
      at('2023-08-24T15:09:00Z'),
    );
    expect(zonedTimeToUtc({ year: 2023, month: 1, day: 24, hour: 11, minute: 9 }, 'America/New_York')).toBe(
      at('2023-01-24T16:09:00Z'),
    );
    // 2023-03-20: New York already on EDT, London still on GMT.
    expect(zonedTimeToUtc({ year: 2023, month: 3, day: 20, hour: 8 }, 'Europe/London')).toBe(
      at('2023-03-20T08:00:00Z'),
    );
    expect(zonedTimeToUtc({ year: 2023, month: 7, day: 3, hour: 9 }, 'Asia/Tokyo')).toBe(
      at('2023-07-03T00:00:00Z'),
    );
    expect(zonedTimeToUtc({ year: 2023, month: 7, day: 3, hour: 9 }, 'UTC')).toBe(at('2023-07-03T09:00:00Z'));
  });

  it('reports offsets with milliseconds ignored, weekdays, and known zones', () => {
    expect(zoneOffsetMs(at('2023-08-24T15:09:00.250Z'), 'America/New_York')).toBe(-4 * H);
    expect(zoneOffsetMs(at('1969-12-31T23:59:59.250Z'), 'Asia/Kolkata')).toBe(5.5 * H);
    expect(zonedWallClock(at('2024-03-10T06:59:00Z'), 'America/New_York')).toEqual({
      year: 2024,
      month: 3,
      day: 10,
      hour: 1,
      minute: 59,
      second: 0,
      weekday: 0,
    });
    expect(isKnownTimeZone('America/New_York')).toBe(true);
    expect(isKnownTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isKnownTimeZone('')).toBe(false);
    expect(() => zoneOffsetMs(0, 'Mars/Olympus_Mons')).toThrow(RangeError);
  });
});

describe('parseLocalDateTime', () => {
  it('reads dates and date-times and refuses other shapes', () => {
    expect(parseLocalDateTime('2021-07-01')).toMatchObject({
      year: 2021,
      month: 7,
      day: 1,
      hour: 0,
      dateOnly: true,
    });
    expect(parseLocalDateTime('2023-08-24 11:09:00')).toMatchObject({
      hour: 11,
      minute: 9,
      second: 0,
      dateOnly: false,
    });
    expect(parseLocalDateTime('2023-08-24T11:09')).toMatchObject({ hour: 11, minute: 9, second: 0 });
    expect(parseLocalDateTime('2023-08-24 25:00:00')).toBeNull();
    expect(parseLocalDateTime('yesterday')).toBeNull();
  });
});
