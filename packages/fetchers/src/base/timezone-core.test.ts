// The time-zone functions the fetchers parse with, now from @pipeline/core (issue 11: one implementation);
// kept as the fetchers' own check of the zones and DST changes their providers use.
import {
  isKnownTimeZone,
  parseLocalDateTime,
  zonedTimeToUtc,
  zonedTimeToUtcCandidates,
  zoneOffsetMs,
} from '@pipeline/core';

const at = (s: string) => Date.parse(s);

describe('zonedTimeToUtc', () => {
  it('reads New York wall times with the summer and winter offsets', () => {
    expect(zonedTimeToUtc({ year: 2023, month: 8, day: 24, hour: 11, minute: 9 }, 'America/New_York')).toBe(
      at('2023-08-24T15:09:00Z'),
    );
    expect(zonedTimeToUtc({ year: 2023, month: 1, day: 24, hour: 11, minute: 9 }, 'America/New_York')).toBe(
      at('2023-01-24T16:09:00Z'),
    );
  });

  it('switches offset exactly at the US spring-forward (2023-03-12 02:00 local)', () => {
    expect(zonedTimeToUtc({ year: 2023, month: 3, day: 12, hour: 1, minute: 59 }, 'America/New_York')).toBe(
      at('2023-03-12T06:59:00Z'),
    );
    expect(zonedTimeToUtc({ year: 2023, month: 3, day: 12, hour: 3, minute: 0 }, 'America/New_York')).toBe(
      at('2023-03-12T07:00:00Z'),
    );
    // 02:30 does not exist that night: read with the pre-jump offset, i.e. 03:30 EDT.
    expect(zonedTimeToUtc({ year: 2023, month: 3, day: 12, hour: 2, minute: 30 }, 'America/New_York')).toBe(
      at('2023-03-12T07:30:00Z'),
    );
  });

  it('maps the repeated fall-back hour to its first occurrence (2023-11-05 01:30 New York)', () => {
    expect(zonedTimeToUtc({ year: 2023, month: 11, day: 5, hour: 1, minute: 30 }, 'America/New_York')).toBe(
      at('2023-11-05T05:30:00Z'),
    );
    expect(zonedTimeToUtc({ year: 2023, month: 11, day: 5, hour: 2, minute: 0 }, 'America/New_York')).toBe(
      at('2023-11-05T07:00:00Z'),
    );
  });

  it('uses each zone its own DST dates (Europe changes on the last Sunday of March)', () => {
    // 2023-03-20: New York already on EDT (-4), London still on GMT (+0).
    expect(zonedTimeToUtc({ year: 2023, month: 3, day: 20, hour: 9, minute: 30 }, 'America/New_York')).toBe(
      at('2023-03-20T13:30:00Z'),
    );
    expect(zonedTimeToUtc({ year: 2023, month: 3, day: 20, hour: 8 }, 'Europe/London')).toBe(
      at('2023-03-20T08:00:00Z'),
    );
    expect(zonedTimeToUtc({ year: 2023, month: 3, day: 27, hour: 8 }, 'Europe/London')).toBe(
      at('2023-03-27T07:00:00Z'),
    );
    expect(zonedTimeToUtc({ year: 2023, month: 7, day: 3, hour: 9 }, 'Asia/Tokyo')).toBe(
      at('2023-07-03T00:00:00Z'),
    );
    expect(zonedTimeToUtc({ year: 2023, month: 7, day: 3, hour: 9 }, 'UTC')).toBe(at('2023-07-03T09:00:00Z'));
  });

  it('reports offsets and known zones', () => {
    expect(zoneOffsetMs(at('2023-08-24T15:09:00.250Z'), 'America/New_York')).toBe(-4 * 3_600_000);
    expect(isKnownTimeZone('America/New_York')).toBe(true);
    expect(isKnownTimeZone('Mars/Olympus_Mons')).toBe(false);
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
    expect(parseLocalDateTime('2023-08-24 25:00:00')).toBeNull();
    expect(parseLocalDateTime('yesterday')).toBeNull();
  });
});

describe('zonedTimeToUtcCandidates', () => {
  it('returns both instants of a repeated wall time, earliest first, and one elsewhere', () => {
    expect(
      zonedTimeToUtcCandidates({ year: 2023, month: 11, day: 5, hour: 1, minute: 30 }, 'America/New_York'),
    ).toEqual([at('2023-11-05T05:30:00Z'), at('2023-11-05T06:30:00Z')]);
    expect(zonedTimeToUtcCandidates({ year: 2023, month: 11, day: 5, hour: 3 }, 'America/New_York')).toEqual([
      at('2023-11-05T08:00:00Z'),
    ]);
  });
});
