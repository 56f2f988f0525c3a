import { createStreamHub, type HubEvent } from './stream-hub';

const ALL = { symbols: new Set<string>(), kinds: new Set(['signals', 'bars'] as const) };

describe('stream hub: events kept as columns, deferred data', () => {
  it('makes a deferred event’s data once, on first read, with the publishing time; same JSON as a plain event', () => {
    let t = 5_000;
    const hub = createStreamHub({ now: () => t, startedAt: 5_000 });
    const made: Array<[string, number, string]> = [];
    const make = (arg: { v: string }, at: number, symbol: string) => {
      made.push([arg.v, at, symbol]);
      return { v: arg.v, at };
    };
    hub.publishDeferred('signals', 'EURUSD', make, { v: 'a' });
    const deferred = hub.lastId; // publishDeferred returns nothing: the id is lastId
    t = 9_000;
    const plain = hub.publish('signals', 'EURUSD', { v: 'b', at: 9_000 });
    expect(made).toEqual([]); // nobody subscribed, nothing read yet
    const first = hub.replay(ALL, 0).events;
    expect(first.map((e) => e.id)).toEqual([deferred, plain]);
    expect(first[0]).toEqual({
      id: deferred,
      kind: 'signals',
      symbol: 'EURUSD',
      data: { v: 'a', at: 5_000 },
    });
    expect(made).toEqual([['a', 5_000, 'EURUSD']]);
    // A second replay gives the same objects; the data is not made again.
    const again = hub.replay(ALL, 0).events;
    expect(again[0]).toBe(first[0]);
    expect(again[1]).toBe(first[1]);
    expect(made).toHaveLength(1);
    expect(Object.keys(first[0] as object)).toEqual(Object.keys(first[1] as object));
  });

  it('hands a subscriber the events it asked for, made at once', () => {
    const hub = createStreamHub({ now: () => 1_000 });
    const got: HubEvent[] = [];
    hub.subscribe({
      filter: { symbols: new Set(['XAUUSD']), kinds: new Set(['signals']) },
      send: (e) => got.push(e),
    });
    hub.publishDeferred('signals', 'EURUSD', () => 'other symbol', null);
    hub.publishDeferred('signals', 'XAUUSD', (n: number, at) => n + at, 1);
    hub.publish('bars', 'XAUUSD', { close: 1 });
    expect(got.map((e) => [e.symbol, e.data])).toEqual([['XAUUSD', 1_001]]);
    // What was sent is what a replay gives.
    const replayed = hub.replay({ symbols: new Set(['XAUUSD']), kinds: new Set(['signals']) }, 0).events;
    expect(replayed).toHaveLength(1);
    expect(replayed[0]).toBe(got[0]);
  });

  it('overwrites the oldest slot when full and reports the gap to a resume older than the ring', () => {
    const hub = createStreamHub({ now: () => 1_000, ringSize: 3 });
    const ids = [1, 2, 3, 4, 5].map(
      (i) => (hub.publishDeferred('bars', `S${i}`, (v: number) => v * 10, i), hub.lastId),
    );
    const r = hub.replay(ALL, (ids[0] as number) - 1);
    expect(r.events.map((e) => e.data)).toEqual([30, 40, 50]);
    expect(r.reset).toEqual(['bars']);
    const inRing = hub.replay(ALL, ids[2] as number);
    expect(inRing.events.map((e) => e.symbol)).toEqual(['S4', 'S5']);
    expect(inRing.reset).toEqual([]);
  });

  it('releases a deferred argument once it is made or overwritten unread, never twice', () => {
    const hub = createStreamHub({ now: () => 1_000, ringSize: 2 });
    const released: number[] = [];
    const release = (v: number) => released.push(v);
    const make = (v: number) => v * 10;
    const ids = [1, 2].map((i) => (hub.publishDeferred('bars', `S${i}`, make, i, release), hub.lastId));
    expect(released).toEqual([]);
    expect(hub.replay(ALL, (ids[1] as number) - 1).events.map((e) => e.data)).toEqual([20]);
    expect(released).toEqual([2]);
    hub.publishDeferred('bars', 'S3', make, 3, release); // overwrites S1, unread
    hub.publishDeferred('bars', 'S4', make, 4, release); // overwrites S2, already made
    expect(released).toEqual([2, 1]);
    const got: unknown[] = [];
    hub.subscribe({ filter: ALL, send: (e) => got.push(e.data) });
    hub.publishDeferred('bars', 'S5', make, 5, release); // made now for the subscriber
    expect(got).toEqual([50]);
    expect(released).toEqual([2, 1, 5, 3]);
  });

  it('hands the maker the number published with the argument; one clock reading gives the id and the time', () => {
    let reads = 0;
    let t = 7_000;
    const hub = createStreamHub({ now: () => (reads++, t), startedAt: 7_000 });
    reads = 0;
    const make = (arg: string, at: number, symbol: string, n: number) => ({ arg, at, symbol, n });
    hub.publishDeferred('signals', 'EURUSD', make, 'a', undefined, 1.5);
    const a = hub.lastId;
    expect(reads).toBe(1);
    t = 8_000;
    hub.publishDeferred('signals', 'XAUUSD', make, 'b', undefined, Number.NaN);
    const b = hub.lastId;
    hub.publishDeferred('signals', 'XAUUSD', make, 'c'); // n defaults to 0
    const c = hub.lastId;
    expect(hub.replay(ALL, 0).events.map((e) => [e.id, e.data])).toEqual([
      [a, { arg: 'a', at: 7_000, symbol: 'EURUSD', n: 1.5 }],
      [b, { arg: 'b', at: 8_000, symbol: 'XAUUSD', n: Number.NaN }],
      [c, { arg: 'c', at: 8_000, symbol: 'XAUUSD', n: 0 }],
    ]);
    expect([a, b, c]).toEqual([7_000_000, 8_000_000, 8_000_001]);
  });

  it('keeps its floor through many overwrites: a resume inside the ring has no gap, one before it has', () => {
    let t = 1_000;
    const hub = createStreamHub({ now: () => t, ringSize: 3, startedAt: 1_000 });
    const ids: number[] = [];
    for (let i = 0; i < 50; i++) {
      t += i % 7 === 0 ? 1 : 0;
      hub.publishDeferred('bars', `S${i}`, (v: number) => v, i);
      ids.push(hub.lastId);
    }
    const at = (k: number) => ids[k] as number;
    expect(hub.replay(ALL, at(46)).reset).toEqual([]);
    expect(hub.replay(ALL, at(46)).events.map((e) => e.data)).toEqual([47, 48, 49]);
    expect(hub.replay(ALL, at(45)).reset).toEqual(['bars']);
    expect(hub.replay({ ...ALL, kinds: new Set(['signals'] as const) }, at(45)).reset).toEqual([]);
  });
});
