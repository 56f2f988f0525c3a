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
  publish(kind: StreamKind, symbol: string | undefined, data: unknown): HubEvent;
  /**
   * Publishes an event whose data is `make(arg, at)`, made when the event is first read (sent to a
   * subscriber, replayed, serialised), never more than once; `at` is the hub's clock at publishing.
   * `arg` must not change afterwards. For data that costs something to build and that, with nobody
   * subscribed, is mostly overwritten in the ring before anyone reads it (a signal aged to its
   * publishing time: one per symbol per cycle).
   */
  publishDeferred<A>(
    kind: StreamKind,
    symbol: string,
    make: (arg: A, at: number) => unknown,
    arg: A,
  ): HubEvent;
  /** Events after `lastEventId` matching the filter, oldest first, and the kinds that have a gap. */
  replay(filter: StreamFilter, lastEventId: number): Replay;
  /** Adds a subscriber; returns the function that removes it. */
  subscribe(sub: Subscriber): () => void;
  /** The id of the newest event (first id - 1 before any). */
  readonly lastId: number;
  readonly subscribers: number;
  /** A reset event with a fresh id (not kept in a ring). */
  reset(kinds: StreamKind[], reason: string): HubEvent;
  /** The hub's clock (ms). */
  now(): number;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/** A fixed-capacity ring of events of one kind. */
class Ring {
  private readonly buf: (HubEvent | undefined)[];
  private head = 0;
  private count = 0;
  /** Every event of this kind with id >= floor is in the ring. */
  floor: number;
  constructor(
    readonly capacity: number,
    firstId: number,
  ) {
    this.buf = new Array<HubEvent | undefined>(capacity);
    this.floor = firstId;
  }
  push(e: HubEvent): void {
    const i = (this.head + this.count) % this.capacity;
    if (this.count === this.capacity) {
      const oldest = this.buf[this.head];
      if (oldest !== undefined) this.floor = oldest.id + 1; // a full ring has an event in every slot

      this.buf[this.head] = e;
      this.head = (this.head + 1) % this.capacity;
    } else {
      this.buf[i] = e;
      this.count++;
    }
  }
  *after(id: number): Generator<HubEvent> {
    for (let k = 0; k < this.count; k++) {
      const e = this.buf[(this.head + k) % this.capacity]; // the `count` slots from `head` on are filled
      if (e !== undefined && e.id > id) yield e;
    }
  }
}

/** An event of {@link StreamHub.publishDeferred}: its data made on first read. */
class DeferredEvent<A> implements HubEvent {
  #make: ((arg: A, at: number) => unknown) | null;
  #arg: A | null;
  #at: number;
  #data: unknown;
  constructor(
    readonly id: number,
    readonly kind: StreamKind,
    readonly symbol: string,
    make: (arg: A, at: number) => unknown,
    arg: A,
    at: number,
  ) {
    this.#make = make;
    this.#arg = arg;
    this.#at = at;
  }
  get data(): unknown {
    const make = this.#make;
    if (make !== null) {
      this.#data = make(this.#arg as A, this.#at);
      this.#make = null;
      this.#arg = null;
    }
    return this.#data;
  }
  /** The same JSON as a plain event's (the data is a getter, which JSON.stringify would skip). */
  toJSON(): { id: number; kind: StreamKind; symbol: string; data: unknown } {
    return { id: this.id, kind: this.kind, symbol: this.symbol, data: this.data };
  }
}

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
  let lastId = firstId - 1;
  const nextId = () => (lastId = Math.max(lastId + 1, Math.floor(now()) * 1000));
  const rings = Object.fromEntries(
    STREAM_KINDS.map((k) => [k, new Ring(resolved.ringSize, firstId)]),
  ) as Record<StreamKind, Ring>;
  const subs = new Set<Subscriber>();

  return {
    options: resolved,
    publish(kind, symbol, data) {
      const id = nextId();
      const e: HubEvent = symbol === undefined ? { id, kind, data } : { id, kind, symbol, data };
      rings[kind].push(e);
      for (const s of subs) if (matches(s.filter, e)) s.send(e);
      return e;
    },
    publishDeferred(kind, symbol, make, arg) {
      const e = new DeferredEvent(nextId(), kind, symbol, make, arg, now());
      rings[kind].push(e);
      for (const s of subs) if (matches(s.filter, e)) s.send(e);
      return e;
    },
    replay(filter, after) {
      const events: HubEvent[] = [];
      const reset: StreamKind[] = [];
      for (const kind of filter.kinds) {
        const ring = rings[kind];
        // A gap: events of this kind after `after` were evicted, or the id is from another run.
        if (after + 1 < ring.floor || after > lastId) reset.push(kind);
        for (const e of ring.after(after)) if (matches(filter, e)) events.push(e);
      }
      events.sort((a, b) => a.id - b.id);
      return { events, reset };
    },
    subscribe(sub) {
      subs.add(sub);
      return () => void subs.delete(sub);
    },
    get lastId() {
      return lastId;
    },
    get subscribers() {
      return subs.size;
    },
    reset(kinds, reason) {
      return { id: nextId(), kind: 'reset', data: { kinds, reason } };
    },
    now,
  };
}
