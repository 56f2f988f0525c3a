import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock, isFetchError, type Bar } from '@pipeline/core';
import { cleanupTempDirs, tempDir } from '@pipeline/test-utils';
import { createReplayFetcher, type ReplayQuery } from './fetcher';

const T0 = Date.UTC(2024, 0, 2, 9, 0);
const M = 60_000;

function writeCsv(text: string): string {
  const path = join(tempDir('replay-'), 'bars.csv');
  writeFileSync(path, text);
  return path;
}

const CSV = [
  'ts,open,high,low,close,volume,symbol,timeframe',
  `${T0},1.1000,1.1010,1.0990,1.1005,10,EURUSD,1m`,
  `${T0 + M},1.1005,1.1020,1.1000,1.1015,12,EURUSD,1m`,
  `2024-01-02T09:02:00Z,1.1015,1.1030,1.1010,1.1025,,EURUSD,1m`,
  `${T0 + 3 * M},,,,,,EURUSD,1m`,
  `${T0 + 4 * M},1.1025,1.1000,1.1030,1.1020,5,EURUSD,1m`,
  `${T0 + 5 * M},1.1020,1.1040,1.1015,1.1035,7,EURUSD,1m`,
  `not-a-time,1,1,1,1,1,EURUSD,1m`,
  `${T0},2000,2001,1999,2000.5,3,XAUUSD,1m`,
].join('\n');

afterAll(() => cleanupTempDirs());

describe('replay fetcher', () => {
  it('replays a CSV at 60x: a bar appears once it is complete in data time', async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const replay = createReplayFetcher({ csvPath: writeCsv(CSV), speed: 60, clock });
    expect(await replay.fetchLatest({ symbol: 'EURUSD', timeframe: '1m' })).toEqual([]);
    clock.advance(1_000); // one data minute
    const first = await replay.fetchLatest({ symbol: 'EURUSD', timeframe: '1m' });
    expect(first).toEqual([
      {
        symbol: 'EURUSD',
        timeframe: '1m',
        ts: T0,
        open: 1.1,
        high: 1.101,
        low: 1.099,
        close: 1.1005,
        volume: 10,
        source: 'replay',
        final: true,
        quality: 1,
      },
    ]);
    clock.advance(2_500);
    const later = await replay.fetchLatest({ symbol: 'EURUSD', timeframe: '1m', limit: 2 });
    expect(later.map((b) => b.ts)).toEqual([T0 + M, T0 + 2 * M]);
    expect(later[1]!.volume).toBe(0); // empty volume cell -> 0
    expect((await replay.position()).dataNow).toBe(T0 + 3.5 * M);
  });

  it('skips and counts null, inconsistent and unreadable rows', async () => {
    const clock = new ManualClock();
    const replay = createReplayFetcher({ csvPath: writeCsv(CSV), speed: 1e6, clock });
    clock.advance(1_000);
    const bars = await replay.fetchHistory({ symbol: 'EURUSD', timeframe: '1m', from: T0, to: T0 + 10 * M });
    expect(bars.map((b) => (b.ts - T0) / M)).toEqual([0, 1, 2, 5]);
    expect(replay.stats()).toMatchObject({
      nullRowsSkipped: 1,
      inconsistentRowsSkipped: 1,
      partialRowsSkipped: 1,
    });
  });

  it('history never reaches past the replay position; other symbols are separate', async () => {
    const clock = new ManualClock();
    const replay = createReplayFetcher({ csvPath: writeCsv(CSV), clock, startAt: T0 + 2 * M });
    const bars = await replay.fetchHistory({ symbol: 'EURUSD', timeframe: '1m', from: 0, to: T0 + 60 * M });
    expect(bars.map((b) => b.ts)).toEqual([T0, T0 + M]);
    expect(await replay.fetchLatest({ symbol: 'XAUUSD', timeframe: '1m' })).toMatchObject([
      { close: 2000.5 },
    ]);
    const err = await replay.fetchLatest({ symbol: 'GBPUSD', timeframe: '1m' }).catch((e: unknown) => e);
    expect(isFetchError(err) && err.kind).toBe('symbol_not_found');
  });

  it('takes the symbol and timeframe from options when the CSV has no such columns', async () => {
    const csv =
      'ts,open,high,low,close,volume\n' + `${T0},10,11,9,10.5,1\n${T0 + 3_600_000},10.5,12,10,11,2\n`;
    const clock = new ManualClock();
    const replay = createReplayFetcher({
      csvPath: writeCsv(csv),
      symbol: 'AAPL',
      timeframe: '1h',
      clock,
      speed: 1e6,
    });
    clock.advance(100);
    expect((await replay.fetchLatest({ symbol: 'AAPL', timeframe: '1h' })).map((b) => b.close)).toEqual([
      10.5, 11,
    ]);
  });

  it('reads a caller-supplied async source (e.g. a store) with the window it needs', async () => {
    const asked: ReplayQuery[] = [];
    const stored: Bar[] = Array.from({ length: 10 }, (_, i) => ({
      symbol: 'NAS100',
      timeframe: '5m',
      ts: T0 + i * 300_000,
      open: 100 + i,
      high: 102 + i,
      low: 99 + i,
      close: 101 + i,
      volume: 1,
      source: 'yahoo',
      final: true,
      quality: 0.9,
    }));
    async function* source(q: ReplayQuery): AsyncIterable<Bar> {
      asked.push(q);
      const inRange = stored.filter((b) => b.ts < q.to && (q.from === undefined || b.ts >= q.from));
      yield* q.limit === undefined ? inRange : inRange.slice(-q.limit);
    }
    const clock = new ManualClock();
    const replay = createReplayFetcher({ source, startAt: T0, speed: 10, clock });
    clock.advance(60_000); // 10 data minutes: two 5m bars complete
    const bars = await replay.fetchLatest({ symbol: 'NAS100', timeframe: '5m', limit: 5 });
    expect(bars.map((b) => [b.ts, b.source])).toEqual([
      [T0, 'replay'],
      [T0 + 300_000, 'replay'],
    ]);
    expect(asked[0]).toEqual({ symbol: 'NAS100', timeframe: '5m', to: T0 + 300_001, limit: 5 });
  });

  it('onBar pushes each bar as it completes in data time, stops on unsubscribe, leaves no timer after close', async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const replay = createReplayFetcher({ csvPath: writeCsv(CSV), speed: 60, clock, startAt: T0 + M });
    const flush = () => new Promise((r) => setImmediate(r));
    await replay.fetchLatest({ symbol: 'EURUSD', timeframe: '1m' }); // the file is read (real I/O) before the clock moves
    const seen: number[] = [];
    const off = replay.onBar({ symbol: 'EURUSD', timeframe: '1m' }, (e) => {
      if (e.bar) seen.push((e.bar.ts - T0) / M);
    });
    await flush();
    expect(seen).toEqual([]); // bars already visible at subscription time are not replayed as events
    for (let i = 0; i < 6; i++) {
      clock.advance(1_000); // one data minute each
      await flush();
      await flush();
    }
    expect(seen).toEqual([1, 2, 5]); // 3 and 4 were null/inconsistent rows: no bars, no events
    off();
    expect(clock.pendingTimers).toBe(0);
    const again = replay.onBar({ symbol: 'XAUUSD', timeframe: '1m' }, () => undefined);
    await flush();
    expect(clock.pendingTimers).toBe(1);
    await replay.close();
    expect(clock.pendingTimers).toBe(0);
    again();
  });

  it('onBar reports read failures as error events instead of throwing', async () => {
    const clock = new ManualClock();
    const replay = createReplayFetcher({ csvPath: writeCsv(CSV), clock, startAt: T0 });
    const errors: string[] = [];
    const off = replay.onBar(
      { symbol: 'GBPUSD', timeframe: '1m' },
      (e) => e.error && errors.push(e.error.kind),
    );
    for (let i = 0; i < 200 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10)); // real file I/O
    expect(errors).toEqual(['symbol_not_found']);
    off();
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects bad options quoting the value', () => {
    expect(() => createReplayFetcher({})).toThrow(/exactly one of "csvPath" and "source"/);
    expect(() => createReplayFetcher({ csvPath: '/nonexistent/file.csv' })).toThrow(
      /"\/nonexistent\/file.csv"/,
    );
    expect(() => createReplayFetcher({ source: () => Promise.resolve([]) })).toThrow(/startAt/);
    expect(() => createReplayFetcher({ source: () => Promise.resolve([]), startAt: 0, speed: 0 })).toThrow(
      /speed.*got 0/,
    );
  });

  it('reports a CSV without the needed header as malformed', async () => {
    const replay = createReplayFetcher({
      csvPath: writeCsv('time,o,h,l,c\n1,1,1,1,1\n'),
      clock: new ManualClock(),
    });
    const err = await replay.fetchLatest({ symbol: 'X', timeframe: '1m' }).catch((e: unknown) => e);
    expect(isFetchError(err) && [err.kind, /lacks "ts"/.test(err.message)]).toEqual(['malformed', true]);
  });
});
