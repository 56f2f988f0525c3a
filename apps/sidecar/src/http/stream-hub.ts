// The push-stream hub: numbers every event, keeps a bounded replay ring per kind, and fans events
// out to subscribers with a bounded per-client queue. Transport-free: stream.ts speaks SSE and
// WebSocket on top of it. It is fed by the sidecar's own publish points (stream-feed.ts), so it works
// the same with the in-process cache and with Redis.
import { STREAM_KINDS } from '@pipeline/client';

export type StreamKind = (typeof STREAM_KINDS)[number];

export interface HubEvent {
  /**
   * Increasing across kinds and across restarts: `max(previous id + 1, now ms * 1000)`, so
   * `floor(id / 1000)` is the time (ms) the event was published, which lets a client resuming from
   * an id older than the ring get the finished bars since then from the history store.
   */
  readonly id: number;
  readonly kind: StreamKind | 'reset';
  readonly symbol?: string;
  readonly data: unknown;
}

export interface StreamHubOptions {
  /** Events kept per kind for resuming clients (`Last-Event-ID`). @default 1000 */
  ringSize?: number;
  /** Events a client may have queued (written, not yet flushed to its socket) before it is dropped. @default 1000 */
  maxQueue?: number;
  /**
   * Most finished bars a resuming client whose id is older than the ring gets from the history
   * store; a longer gap gets a `reset`. @default 20000
   */
  maxBackfillBars?: number;
  /** First event id is at least `startedAt * 1000`. @default now() */
  startedAt?: number;
  /** The clock ids are taken from (ms). @default Date.now */
  now?: () => number;
}

export const DEFAULT_STREAM_HUB_OPTIONS = Object.freeze({
  ringSize: 1000,
  maxQueue: 1000,
  maxBackfillBars: 20_000,
});

/** The time (epoch ms) an event id was published at (see {@link HubEvent.id}). */
export const idTime = (id: number): number => Math.floor(id / 1000);

export interface StreamFilter {
  /** Generic symbols; empty: all. Events without a symbol (health) always match. */
  symbols: ReadonlySet<string>;
  kinds: ReadonlySet<StreamKind>;
}

export interface Subscriber {
  filter: StreamFilter;
  /** Delivers one event; the transport counts its own queue and calls `drop` past the limit. */
  send(event: HubEvent): void;
}

export interface Replay {
  events: HubEvent[];
  /** Kinds with events missed (older than the ring, or from another run): the client must refetch. */
  reset: StreamKind[];
}

export interface StreamHub {
  readonly options: Readonly<Required<Omit<StreamHubOptions, 'startedAt' | 'now'>>>;
  /** Publishes an event; returns its id. */
  publish(kind: StreamKind, symbol: string | undefined, data: unknown): number;
  /**
   * Publishes an event whose data is `make(arg, at, symbol, n)`, made only when the event is first
   * needed (a subscriber is sent it now, or a replay reads it), never more than once; `at` is the
   * hub's clock at publishing. `arg` must not change afterwards; `n` is a number kept with it
   * (default 0), so that a fact of the publishing time needs no object. For data that costs
   * something to build and that, with nobody subscribed, is mostly overwritten in the ring unread
   * (a signal aged to its publishing time: one per symbol per cycle). `release(arg)`, when given, is
   * called once `arg` is no longer needed: after `make` ran, or when the ring overwrote the event
   * unread. The event's id is {@link lastId} afterwards (not returned: a number returned from a
   * call V8 does not inline is boxed, an object per event on the hot path).
   */
  publishDeferred<A>(
    kind: StreamKind,
    symbol: string,
    make: EventMaker<A>,
    arg: A,
    release?: (arg: A) => void,
    n?: number,
  ): void;
  /** Events after `lastEventId` matching the filter, oldest first, and the kinds that have a gap. */
  replay(filter: StreamFilter, lastEventId: number): Replay;
  /** Adds a subscriber; returns the function that removes it. */
  subscribe(sub: Subscriber): () => void;
  /** The id of the newest event (first id - 1 before any). */
  readonly lastId: number;
  readonly subscribers: number;
  /** Subscriptions made since the hub was created (never goes down: a client that subscribed). */
  readonly subscriptions: number;
  /** A reset event with a fresh id (not kept in a ring). */
  reset(kinds: StreamKind[], reason: string): HubEvent;
  /** The hub's clock (ms). */
  now(): number;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/** Makes a deferred event's data (see {@link StreamHub.publishDeferred}). */
export type EventMaker<A> = (arg: A, at: number, symbol: string, n: number) => unknown;

/**
 * A fixed-capacity ring of the events of one kind, kept as columns: publishing with nobody
 * subscribed stores an id, a symbol and a value, and makes no event object (issue 16: at 20,000
 * symbols a cycle publishes 60,000 events that the ring overwrites unread, and the objects lived
 * long enough to be promoted to V8's old generation). An event object is made when a subscriber
 * or a replay needs it, once.
 */
class Ring {
  // The number columns are written by the caller of push() (see there).
  readonly ids: Float64Array;
  readonly ats: Float64Array;
  /** A deferred event's number (publishDeferred's `n`). */
  readonly nums: Float64Array;
  private readonly symbols: (string | undefined)[];
  /** The data, or a deferred event's argument. */
  private readonly values: unknown[];
  private readonly makers: (EventMaker<unknown> | null)[];
  /** Called with a deferred event's argument once it is not needed (made, or overwritten unread). */
  private readonly releases: (((arg: unknown) => void) | null)[];
  /** The event object of a slot, once made. */
  private readonly events: (HubEvent | null)[];
  private head = 0;
  private count = 0;
  /**
   * Every event of this kind with an id >= this is in the ring. In a typed array: a number field
   * declared without a number in it (a class field is first undefined) holds a boxed number, and
   * every write made a new one (an object per event once the ring is full).
   */
  private readonly floorAt = new Float64Array(1);
  get floor(): number {
    return this.floorAt[0] as number;
  }
  constructor(
    readonly kind: StreamKind,
    readonly capacity: number,
    firstId: number,
  ) {
    this.ids = new Float64Array(capacity);
    this.ats = new Float64Array(capacity);
    this.nums = new Float64Array(capacity);
    this.symbols = new Array<string | undefined>(capacity).fill(undefined);
    this.values = new Array<unknown>(capacity).fill(null);
    this.makers = new Array<EventMaker<unknown> | null>(capacity).fill(null);
    this.releases = new Array<((arg: unknown) => void) | null>(capacity).fill(null);
    this.events = new Array<HubEvent | null>(capacity).fill(null);
    this.floorAt[0] = firstId;
  }
  /**
   * Stores an event (`event`: its object, when one was made for a subscriber) and returns its slot,
   * whose id, time and number the caller writes into {@link ids}, {@link ats} and {@link nums} at
   * once: a number passed to a function V8 does not inline is boxed (a number object per event).
   */
  push(
    symbol: string | undefined,
    value: unknown,
    maker: EventMaker<unknown> | null,
    event: HubEvent | null,
    release: ((arg: unknown) => void) | null,
  ): number {
    let i: number;
    if (this.count === this.capacity) {
      i = this.head;
      const evicted = this.releases[i];
      if (evicted != null) {
        this.releases[i] = null;
        evicted(this.values[i]);
      }
      this.floorAt[0] = (this.ids[i] as number) + 1; // a full ring has an event in every slot
      this.head = i + 1 === this.capacity ? 0 : i + 1;
    } else {
      i = this.head + this.count;
      if (i >= this.capacity) i -= this.capacity;
      this.count++;
    }
    this.symbols[i] = symbol;
    this.values[i] = value;
    this.makers[i] = maker;
    this.events[i] = event;
    this.releases[i] = release;
    return i;
  }
  /** Events with an id above `id` whose symbol `wanted` accepts, oldest first. */
  *after(id: number, wanted: (symbol: string | undefined) => boolean): Generator<HubEvent> {
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % this.capacity;
      if ((this.ids[i] as number) > id && wanted(this.symbols[i])) yield this.event(i);
    }
  }
  private event(i: number): HubEvent {
    const made = this.events[i];
    if (made) return made;
    const symbol = this.symbols[i];
    const maker = this.makers[i] ?? null;
    const value = this.values[i];
    // A deferred event always has its symbol (publishDeferred takes one).
    const data =
      maker !== null && symbol !== undefined
        ? maker(value, this.ats[i] as number, symbol, this.nums[i] as number)
        : value;
    const e = plainEvent(this.ids[i] as number, this.kind, symbol, data);
    this.events[i] = e;
    this.makers[i] = null;
    this.values[i] = data;
    const release = this.releases[i];
    if (release != null) {
      this.releases[i] = null;
      release(value);
    }
    return e;
  }
}

const plainEvent = (id: number, kind: StreamKind, symbol: string | undefined, data: unknown): HubEvent =>
  symbol === undefined ? { id, kind, data } : { id, kind, symbol, data };

export function matches(filter: StreamFilter, e: HubEvent): boolean {
  if (e.kind !== 'reset' && !filter.kinds.has(e.kind)) return false;
  return e.symbol === undefined || filter.symbols.size === 0 || filter.symbols.has(e.symbol);
}

export function createStreamHub(options: StreamHubOptions = {}): StreamHub {
  for (const k of Object.keys(options)) {
    if (!['ringSize', 'maxQueue', 'maxBackfillBars', 'startedAt', 'now'].includes(k))
      throw new TypeError(`unknown stream option ${k}`);
  }
  const resolved = Object.freeze({
    ringSize: positiveInt('ringSize', options.ringSize ?? DEFAULT_STREAM_HUB_OPTIONS.ringSize),
    maxQueue: positiveInt('maxQueue', options.maxQueue ?? DEFAULT_STREAM_HUB_OPTIONS.maxQueue),
    maxBackfillBars: positiveInt(
      'maxBackfillBars',
      options.maxBackfillBars ?? DEFAULT_STREAM_HUB_OPTIONS.maxBackfillBars,
    ),
  });
  const now = options.now ?? Date.now;
  const firstId = Math.floor(options.startedAt ?? now()) * 1000;
  // The last id in a typed array: a double in a closure variable is boxed anew on every write (a
  // number object per event, three events per symbol per cycle).
  const last = new Float64Array(1);
  last[0] = firstId - 1;
  /** The id of an event published at `t` (the hub's clock). */
  const nextId = (t: number): number => {
    const id = Math.max((last[0] as number) + 1, Math.floor(t) * 1000);
    last[0] = id;
    return id;
  };
  const rings = Object.fromEntries(
    STREAM_KINDS.map((k) => [k, new Ring(k, resolved.ringSize, firstId)]),
  ) as Record<StreamKind, Ring>;
  const subs = new Set<Subscriber>();
  let subscriptions = 0;

  return {
    options: resolved,
    publish(kind, symbol, data) {
      const id = nextId(now());
      let e: HubEvent | null = null;
      if (subs.size > 0) {
        e = plainEvent(id, kind, symbol, data);
        for (const s of subs) if (matches(s.filter, e)) s.send(e);
      }
      const ring = rings[kind];
      const i = ring.push(symbol, data, null, e, null);
      ring.ids[i] = id;
      ring.ats[i] = 0;
      ring.nums[i] = 0;
      return id;
    },
    publishDeferred(kind, symbol, make, arg, release, n = 0) {
      // One clock reading for the id and the publishing time.
      const at = now();
      const id = nextId(at);
      const ring = rings[kind];
      let i: number;
      if (subs.size > 0) {
        // Someone listens: made now, and kept as a plain event.
        const e = plainEvent(id, kind, symbol, make(arg, at, symbol, n));
        release?.(arg);
        for (const s of subs) if (matches(s.filter, e)) s.send(e);
        i = ring.push(symbol, e.data, null, e, null);
        n = 0;
      } else
        i = ring.push(
          symbol,
          arg,
          make as EventMaker<unknown>,
          null,
          (release as ((arg: unknown) => void) | undefined) ?? null,
        );
      ring.ids[i] = id;
      ring.ats[i] = at;
      ring.nums[i] = n;
    },
    replay(filter, after) {
      const events: HubEvent[] = [];
      const reset: StreamKind[] = [];
      for (const kind of filter.kinds) {
        const ring = rings[kind];
        // A gap: events of this kind after `after` were evicted, or the id is from another run.
        if (after + 1 < ring.floor || after > (last[0] as number)) reset.push(kind);
        const wanted = (symbol: string | undefined) =>
          symbol === undefined || filter.symbols.size === 0 || filter.symbols.has(symbol);
        for (const e of ring.after(after, wanted)) events.push(e);
      }
      events.sort((a, b) => a.id - b.id);
      return { events, reset };
    },
    subscribe(sub) {
      subs.add(sub);
      subscriptions++;
      return () => void subs.delete(sub);
    },
    get lastId() {
      return last[0] as number;
    },
    get subscribers() {
      return subs.size;
    },
    get subscriptions() {
      return subscriptions;
    },
    reset(kinds, reason) {
      return { id: nextId(now()), kind: 'reset', data: { kinds, reason } };
    },
    now,
  };
}
