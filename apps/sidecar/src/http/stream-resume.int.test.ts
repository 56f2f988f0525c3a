// Resuming the push stream from an id older than the replay ring: the finished bars since then come
// from the history store (a real SQLite file), then live events; across a sidecar restart too.
import { createClient, type StreamEvent } from '@pipeline/client';
import { ManualClock, type Bar } from '@pipeline/core';
import { cleanupTempDirs, tempSqlitePath } from '@pipeline/test-utils';
import { WebSocket } from 'ws';
import { buildApp } from './api';
import { createStreamHub, idTime, type StreamHub } from './stream-hub';
import { subscribed, take } from '../../test/at';
import { createHarness, type Harness } from '../../test/harness';

afterAll(() => cleanupTempDirs());

const MINUTE = 60_000;
const START = Date.UTC(2024, 0, 3, 12, 0, 0);

/** The first EURUSD bars event a client resuming at `lastEventId` gets (then it disconnects). */
async function firstOnResume(baseUrl: string, lastEventId: number): Promise<StreamEvent | undefined> {
  const ac = new AbortController();
  const [first] = await take(
    createClient({ baseUrl }).stream({
      kinds: ['bars'],
      symbols: ['EURUSD'],
      lastEventId,
      signal: ac.signal,
    }),
    1,
  );
  ac.abort();
  return first;
}

/** A real sidecar on a free port with a hub on its manual clock (ring of 5 events per kind). */
async function start(
  sqlitePath: string,
  clock: ManualClock,
  hubOptions: { maxBackfillBars?: number } = {},
  /** Changes the sidecar before the app is built on it. */
  prepare: (h: Harness, hub: StreamHub) => void = () => undefined,
) {
  const h = createHarness({ SYMBOLS: 'EURUSD,XAUUSD', SQLITE_PATH: sqlitePath }, {}, clock);
  const hub = createStreamHub({ ringSize: 5, now: () => clock.now(), ...hubOptions });
  prepare(h, hub);
  const app = buildApp(h.sidecar, { streamHub: hub });
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  const cycle = async (n: number) => {
    for (let i = 0; i < n; i++) {
      clock.advance(MINUTE);
      await h.sidecar.runCycle();
    }
  };
  const stop = async () => {
    await app.close();
    await h.sidecar.stop();
  };
  return { h, hub, baseUrl, cycle, stop };
}

/** The store's finished EURUSD bars with `from <= ts`. */
async function finishedSince(h: Harness, from: number): Promise<Bar[]> {
  const { bars } = await h.sidecar.barsRange('EURUSD', '1m', from, Number.MAX_SAFE_INTEGER, 10_000);
  return bars.filter((b) => b.final);
}

describe('resume older than the ring, from the SQLite history store', () => {
  const sqlitePath = tempSqlitePath('stream-resume');
  const clock = new ManualClock(START);
  let s: Awaited<ReturnType<typeof start>>;
  let lastId = 0;

  beforeAll(async () => {
    s = await start(sqlitePath, clock);
    await s.cycle(3);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('backfills the finished bars missed while away from the store, then goes on live, no gap', async () => {
    const client = createClient({ baseUrl: s.baseUrl });
    const ac = new AbortController();
    const it = client.stream({ kinds: ['bars'], symbols: ['EURUSD'], signal: ac.signal });
    const subs0 = s.hub.subscriptions;
    const first = it.next();
    await subscribed(s.hub, subs0);
    await s.cycle(1);
    const firstEvent = (await first).value as StreamEvent;
    ac.abort();
    lastId = firstEvent.id;
    const lastTime = idTime(lastId);
    expect(lastTime).toBe(clock.now());

    // Away for 10 minutes: each cycle publishes 4+ bars events (2 symbols), the ring keeps 5.
    await s.cycle(10);
    expect(s.hub.replay({ symbols: new Set(), kinds: new Set(['bars']) }, lastId).reset).toEqual(['bars']);

    const expected = await finishedSince(s.h, Math.floor(lastTime / MINUTE) * MINUTE - MINUTE);
    expect(expected.length).toBeGreaterThanOrEqual(10);
    const ac2 = new AbortController();
    const resumed = client.stream({
      kinds: ['bars'],
      symbols: ['EURUSD'],
      lastEventId: lastId,
      signal: ac2.signal,
    });
    const backfill = await take(resumed, expected.length);
    expect(backfill.every((e) => e.kind === 'bars' && e.id === lastId)).toBe(true);
    expect(backfill.map((e) => e.data)).toEqual(
      expected.map((b) => expect.objectContaining({ ts: b.ts, close: b.close, final: true })),
    );
    // Then what the ring still holds (ids above the resume point), then live bars of the next cycle.
    const next = resumed.next();
    await s.cycle(1);
    const live = (await next).value as StreamEvent;
    ac2.abort();
    expect(live.kind).toBe('bars');
    expect(live.id).toBeGreaterThan(lastId);
    // Every minute from one before the resume point to the last finished one, without a hole.
    const ts = backfill.map((e) => (e.data as { ts: number }).ts);
    expect(ts[0]).toBe(Math.floor(lastTime / MINUTE) * MINUTE - MINUTE);
    expect(ts).toEqual(ts.map((_, i) => (ts[0] ?? 0) + i * MINUTE));
    expect(ts.at(-1)).toBe(Math.floor(clock.now() / MINUTE) * MINUTE - 2 * MINUTE);
  });

  it('the WebSocket twin backfills the same way (resume id as the first message)', async () => {
    const expected = await finishedSince(s.h, Math.floor(idTime(lastId) / MINUTE) * MINUTE - MINUTE);
    const ws = new WebSocket(`${s.baseUrl.replace('http', 'ws')}/stream/ws?kinds=bars&symbols=EURUSD`);
    const got: StreamEvent[] = [];
    ws.on('message', (m) => got.push(JSON.parse((m as Buffer).toString('utf8')) as StreamEvent));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ lastEventId: lastId }));
    for (let i = 0; i < 50 && got.length < expected.length; i++) await new Promise((r) => setTimeout(r, 20));
    ws.close();
    expect(got.slice(0, expected.length).map((e) => [e.id, (e.data as { ts: number }).ts])).toEqual(
      expected.map((b) => [lastId, b.ts]),
    );
  });

  it('a gap longer than maxBackfillBars gets reset with the reason', async () => {
    const other = await start(tempSqlitePath('stream-resume-limit'), new ManualClock(START), {
      maxBackfillBars: 6,
    });
    try {
      await other.cycle(2);
      const mark = other.hub.lastId;
      await other.cycle(10);
      const reset = await firstOnResume(other.baseUrl, mark);
      expect(reset).toMatchObject({ kind: 'reset', data: { kinds: ['bars'] } });
      expect((reset?.data as { reason?: string } | undefined)?.reason).toMatch(
        /more than the 6 a resume backfills/,
      );
    } finally {
      await other.stop();
    }
  });

  it('bars evicted while the store is read: reset for bars, not a silent hole (nothing buffered per client)', async () => {
    // The store read "takes" long enough for more bars than the ring of 5 to be published.
    const other = await start(tempSqlitePath('stream-resume-race'), new ManualClock(START), {}, (h, hub) => {
      const read = h.sidecar.barsRange.bind(h.sidecar);
      h.sidecar.barsRange = async (...args: Parameters<typeof read>) => {
        for (let i = 0; i < 8; i++) hub.publish('bars', 'EURUSD', { during: i });
        return read(...args);
      };
    });
    try {
      await other.cycle(2);
      const mark = other.hub.lastId;
      await other.cycle(6);
      const first = await firstOnResume(other.baseUrl, mark);
      expect(first).toMatchObject({ kind: 'reset', data: { kinds: ['bars'] } });
      expect((first?.data as { reason?: string } | undefined)?.reason).toMatch(
        /while the history store was read/,
      );
    } finally {
      await other.stop();
    }
  });

  it('after a restart on the same SQLite file, an id from the earlier run resumes from the store', async () => {
    await s.stop();
    clock.advance(5 * MINUTE); // down for five minutes
    s = await start(sqlitePath, clock);
    expect(s.hub.lastId).toBeGreaterThan(lastId); // the new run's ids stay above the earlier run's
    await s.cycle(2);
    const expected = await finishedSince(s.h, Math.floor(idTime(lastId) / MINUTE) * MINUTE - MINUTE);
    const ac = new AbortController();
    const events = await take(
      createClient({ baseUrl: s.baseUrl }).stream({
        kinds: ['bars'],
        symbols: ['EURUSD'],
        lastEventId: lastId,
        signal: ac.signal,
      }),
      expected.length,
    );
    ac.abort();
    expect(events.some((e) => e.kind === 'reset')).toBe(false);
    expect(events.map((e) => (e.data as { ts: number }).ts)).toEqual(expected.map((b) => b.ts));
    // The earlier run's bars (before the restart) are among them.
    expect(
      events.filter((e) => (e.data as { ts: number }).ts < START + 14 * MINUTE).length,
    ).toBeGreaterThanOrEqual(10);
  });
});
