import { VWAP, vwapBatch } from '../index';
import { mulberry32 } from '../../test/series';

/** Exact VWAP of the typical prices (each rounded once to a double, as we define it) via BigInt. */
function exactVwap(tp: number[], vol: number[]): number {
  const SCALE = 2 ** 60;
  let pv = 0n;
  let v = 0n;
  for (let i = 0; i < tp.length; i++) {
    // tp * 2^60 is exact (a power-of-two scaling) and integral for tp >= 2^-8.
    pv += BigInt(tp[i]! * SCALE) * BigInt(vol[i]!);
    v += BigInt(vol[i]!);
  }
  const q = (pv << 64n) / (v * BigInt(SCALE));
  return Number(q) / 2 ** 64;
}

describe('VWAP', () => {
  it('stays within 1e-12 of the exact cumulative value over a 100,000-bar session', () => {
    const rnd = mulberry32(99);
    const n = 100_000;
    const t0 = Date.UTC(2024, 0, 2);
    const vw = new VWAP();
    const tps: number[] = [];
    const vols: number[] = [];
    let c = 100;
    let worst = 0;
    for (let i = 0; i < n; i++) {
      c = Math.max(1, Math.round((c + (rnd() - 0.5) * 0.2) * 100) / 100);
      const high = c + 0.05;
      const low = c - 0.03;
      const volume = Math.floor(rnd() * 100_000);
      // Half-second bars: the whole series is one UTC day, so nothing resets.
      vw.add({ ts: t0 + i * 500, high, low, close: c, volume });
      tps.push((high + low + c) / 3);
      vols.push(volume);
      if (i % 9_973 === 0 || i === n - 1) {
        worst = Math.max(worst, Math.abs(vw.getResultOrThrow() - exactVwap(tps, vols)));
      }
    }
    expect(worst).toBeLessThanOrEqual(1e-12);
  });

  it('resets at the session start in the configured time zone, across a DST change', () => {
    const vw = new VWAP({ sessionStart: '09:30', timeZone: 'America/New_York' });
    const bar = (iso: string, close: number, volume = 10) => ({
      ts: Date.parse(iso),
      high: close,
      low: close,
      close,
      volume,
    });
    vw.add(bar('2024-03-08T15:00:00Z', 10)); // 10:00 EST, session from 14:30 UTC
    expect(vw.sessionStartTs).toBe(Date.parse('2024-03-08T14:30:00Z'));
    vw.add(bar('2024-03-08T20:00:00Z', 20));
    expect(vw.getResult()).toBe(15);
    vw.add(bar('2024-03-11T13:00:00Z', 30)); // 09:00 EDT Monday: still the session that began Sunday 09:30 EDT
    expect(vw.sessionStartTs).toBe(Date.parse('2024-03-10T13:30:00Z'));
    expect(vw.getResult()).toBe(30);
    vw.add(bar('2024-03-11T13:30:00Z', 40)); // 09:30 EDT: new session
    expect(vw.sessionStartTs).toBe(Date.parse('2024-03-11T13:30:00Z'));
    expect(vw.getResult()).toBe(40);
    vw.add(bar('2024-03-11T14:00:00Z', 50, 30));
    expect(vw.getResult()).toBe((40 * 10 + 50 * 30) / 40);
  });

  it('replace across a session boundary restores the previous session', () => {
    const vw = new VWAP();
    const d1 = Date.UTC(2024, 0, 2, 23, 58);
    vw.add({ ts: d1, high: 10, low: 10, close: 10, volume: 1 });
    vw.add({ ts: d1 + 60_000, high: 20, low: 20, close: 20, volume: 1 });
    expect(vw.getResult()).toBe(15);
    vw.add({ ts: d1 + 120_000, high: 30, low: 30, close: 30, volume: 1 }); // 00:00 next day: reset
    expect(vw.getResult()).toBe(30);
    // The replacement of the 00:00 bar falls back into the old session: its sums must come back.
    vw.replace({ ts: d1 + 90_000, high: 40, low: 40, close: 40, volume: 3 });
    expect(vw.getResult()).toBe((10 + 20 + 40 * 3) / 5);
    vw.replace({ ts: d1 + 120_000, high: 50, low: 50, close: 50, volume: 2 });
    expect(vw.getResult()).toBe(50);
  });

  it('is null while the session has no volume (FX feeds)', () => {
    const out = vwapBatch([0, 60_000], [1.1, 1.2], [1.0, 1.1], [1.05, 1.15], [0, 0]);
    expect(Array.from(out).every(Number.isNaN)).toBe(true);
    const vw = new VWAP();
    vw.add({ ts: 0, high: 1.1, low: 1, close: 1.05, volume: 0 });
    expect(vw.isStable()).toBe(false);
    expect(() => vw.getResultOrThrow()).toThrow(/not stable/);
  });

  it('rejects a bad session time or time zone at construction, quoting it', () => {
    expect(() => new VWAP({ sessionStart: '25:00' })).toThrow(/"25:00"/);
    expect(() => new VWAP({ timeZone: 'Mars/Olympus' })).toThrow(/Mars\/Olympus/);
  });
});
