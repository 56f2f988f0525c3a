import { createStreamHub, type HubEvent } from './stream-hub';

describe('stream hub: deferred events', () => {
  it('makes the data once, on first read, with the publishing time; same JSON as a plain event', () => {
    let t = 5_000;
    const hub = createStreamHub({ now: () => t, startedAt: 5_000 });
    const made: Array<[string, number]> = [];
    const make = (arg: { v: string }, at: number) => {
      made.push([arg.v, at]);
      return { v: arg.v, at };
    };
    const deferred = hub.publishDeferred('signals', 'EURUSD', make, { v: 'a' });
    t = 9_000;
    const plain = hub.publish('signals', 'EURUSD', { v: 'b', at: 9_000 });
    expect(made).toEqual([]); // nobody subscribed, nothing read yet
    const replayed = hub.replay({ symbols: new Set(), kinds: new Set(['signals']) }, 0).events;
    expect(replayed.map((e) => e.id)).toEqual([deferred.id, plain.id]);
    expect(replayed[0]?.data).toEqual({ v: 'a', at: 5_000 });
    expect(deferred.data).toBe(replayed[0]?.data);
    expect(made).toEqual([['a', 5_000]]);
    expect(JSON.parse(JSON.stringify(deferred))).toEqual({
      id: deferred.id,
      kind: 'signals',
      symbol: 'EURUSD',
      data: { v: 'a', at: 5_000 },
    });
    expect(Object.keys(JSON.parse(JSON.stringify(deferred)) as object)).toEqual(
      Object.keys(JSON.parse(JSON.stringify(plain)) as object),
    );
  });

  it('hands a subscriber the event, which it reads at once', () => {
    const hub = createStreamHub({ now: () => 1_000 });
    const got: HubEvent[] = [];
    hub.subscribe({
      filter: { symbols: new Set(['XAUUSD']), kinds: new Set(['signals']) },
      send: (e) => got.push(e),
    });
    hub.publishDeferred('signals', 'EURUSD', () => 'other symbol', null);
    hub.publishDeferred('signals', 'XAUUSD', (n: number, at) => n + at, 1);
    expect(got.map((e) => [e.symbol, e.data])).toEqual([['XAUUSD', 1_001]]);
  });
});
