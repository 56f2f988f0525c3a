/**
 * Polygon WebSocket client for live aggregates. One socket per market (`stocks`, `forex`, `crypto`,
 * `indices`), speaking Polygon's protocol: the server greets with a `connected` status, the client
 * sends `auth`, waits for `auth_success`, then subscribes. Every frame is a JSON array of events.
 */
import type * as WsNamespace from 'ws';
import type { RawData, WebSocket } from 'ws';

// `ws` is loaded on the first connect, not when the package is imported: a bundle that uses only the
// REST fetchers or the synthetic source then leaves `ws` out (issue 15; checked by bundle.int.test.ts).
type WsModule = typeof WsNamespace;
let wsModule: WsModule | undefined;
let wsLoading: Promise<WsModule> | undefined;
function loadWs(): Promise<WsModule> {
  wsLoading ??= import('ws').then((m) => {
    // CommonJS interop: the constructor is the module itself or its `WebSocket` / `default` export.
    const mod = m as WsModule & { default?: WsModule };
    wsModule = mod.WebSocket ? mod : mod.default;
    return wsModule;
  });
  return wsLoading;
}
import {
  OptionsError,
  alignTs,
  assertNumberOption,
  isRecord,
  resolveOptions,
  systemClock,
  type Bar,
  type Scheduler,
  type TimerHandle,
} from '@pipeline/core';
import { createSymbolMapper, type SymbolMapper } from '@pipeline/symbol-mapper';
import { POLYGON_STREAM_ERROR_CODES as CODES, PolygonStreamError } from './stream-errors';

/** The Polygon socket clusters this client reads aggregates from. */
export const POLYGON_STREAM_MARKETS = {
  stocks: 'stocks',
  forex: 'forex',
  crypto: 'crypto',
  indices: 'indices',
} as const;
export type PolygonStreamMarket = (typeof POLYGON_STREAM_MARKETS)[keyof typeof POLYGON_STREAM_MARKETS];

/** Aggregate channel per market and bar length (Polygon's docs; `A`/`AM` are shared by stocks and indices). */
export const POLYGON_STREAM_CHANNELS = Object.freeze({
  stocks: { '1s': 'A', '1m': 'AM' },
  indices: { '1s': 'A', '1m': 'AM' },
  forex: { '1s': 'CAS', '1m': 'CA' },
  crypto: { '1s': 'XAS', '1m': 'XA' },
} as const);

/** Timeframes Polygon streams as aggregates. */
export type PolygonStreamTimeframe = '1s' | '1m';

/** Connection states, in the order a healthy session goes through them. */
export const POLYGON_STREAM_STATES = {
  connecting: 'connecting',
  authenticating: 'authenticating',
  authenticated: 'authenticated',
  subscribed: 'subscribed',
  idle: 'idle',
  reconnecting: 'reconnecting',
  failed: 'failed',
  closed: 'closed',
} as const;
export type PolygonStreamState = (typeof POLYGON_STREAM_STATES)[keyof typeof POLYGON_STREAM_STATES];

/** What `onStatus` listeners receive. */
export interface PolygonStreamStatus {
  state: PolygonStreamState;
  /** Reconnect attempt number (1 = first retry); 0 while connected. */
  attempt: number;
  /** For `reconnecting`: how long until the next attempt, ms. */
  delayMs?: number;
  /** The server's status message, when a frame caused the change. */
  message?: string;
}

export interface PolygonStreamOptions {
  /** Polygon API key, sent only inside the `auth` frame (never in the URL, errors or events). Required. */
  apiKey: string;
  /** Socket cluster. @default 'stocks' */
  market: PolygonStreamMarket;
  /** Socket URL; empty means `wss://socket.polygon.io/{market}`. Tests pass a local server. @default '' */
  url: string;
  /** Generic symbols to subscribe to at start (more via `subscribe`). @default [] */
  symbols: readonly string[];
  /** Aggregate lengths to subscribe to: `1s` (A/CAS/XAS) and/or `1m` (AM/CA/XA). @default ['1m'] */
  timeframes: readonly PolygonStreamTimeframe[];
  /** Maps generic symbols to Polygon tickers and back. @default createSymbolMapper() */
  symbolMapper: SymbolMapper | undefined;
  /** Time source and timer for idle detection and reconnect backoff. @default systemClock */
  clock: Scheduler;
  /** No frame at all for this long counts as a dead feed: `idle` status, then reconnect. Unit: ms. @default 30000 */
  idleTimeoutMs: number;
  /** Opening handshake timeout. Unit: ms. @default 10000 */
  connectTimeoutMs: number;
  /** First reconnect delay; doubles per failed attempt. Unit: ms. @default 500 */
  reconnectInitialDelayMs: number;
  /** Upper bound of the reconnect delay. Unit: ms. @default 30000 */
  reconnectMaxDelayMs: number;
  /** Random share of each delay (0..1) so that many clients do not reconnect in step. @default 0.2 */
  reconnectJitter: number;
  /** Consecutive failed attempts before the stream gives up (`failed`). Unit: attempts. @default 20 */
  maxReconnectAttempts: number;
  /** Capacity of each `bars()` iterator's queue; when full the oldest bar is dropped and counted. Unit: bars. @default 10000 */
  maxQueuedBars: number;
}

/** Defaults of {@link PolygonStreamOptions} (`apiKey` has none: it must be given). */
export const POLYGON_STREAM_DEFAULTS: Readonly<PolygonStreamOptions> = Object.freeze<PolygonStreamOptions>({
  apiKey: '',
  market: 'stocks',
  url: '',
  symbols: Object.freeze<string[]>([]),
  timeframes: Object.freeze<PolygonStreamTimeframe[]>(['1m']),
  symbolMapper: undefined,
  clock: systemClock,
  idleTimeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  reconnectInitialDelayMs: 500,
  reconnectMaxDelayMs: 30_000,
  reconnectJitter: 0.2,
  maxReconnectAttempts: 20,
  maxQueuedBars: 10_000,
});

/** Counters since creation. */
export interface PolygonStreamStats {
  framesReceived: number;
  barsEmitted: number;
  /** Frames or events that could not be read (skipped). */
  badFrames: number;
  /** Aggregates for tickers that map to no generic symbol (skipped). */
  unknownSymbols: number;
  /** Bars dropped by full `bars()` queues (oldest first). */
  droppedBars: number;
  /** Successful re-connections after the first one. */
  reconnects: number;
}

type Listener<T> = (value: T) => void;

class BarQueue implements AsyncIterableIterator<Bar> {
  private readonly items: Bar[] = [];
  private head = 0;
  private waiter: ((r: IteratorResult<Bar>) => void) | null = null;
  private done = false;
  overflowing = false;

  constructor(
    private readonly capacity: number,
    private readonly onDrop: (first: boolean) => void,
    private readonly onReturn: (q: BarQueue) => void,
  ) {}

  push(bar: Bar): void {
    if (this.done) return;
    if (this.waiter !== null) {
      const w = this.waiter;
      this.waiter = null;
      w({ value: bar, done: false });
      return;
    }
    if (this.items.length - this.head >= this.capacity) {
      // Drop-oldest: a live consumer wants the freshest bars; the store backfills gaps by polling.
      this.head++;
      this.onDrop(!this.overflowing);
      this.overflowing = true;
    }
    this.items.push(bar);
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
  }

  get size(): number {
    return this.items.length - this.head;
  }

  next(): Promise<IteratorResult<Bar>> {
    const value = this.items[this.head]; // undefined when head = items.length: nothing queued
    if (value !== undefined) {
      this.head++;
      if (this.head === this.items.length) {
        this.items.length = 0;
        this.head = 0;
        this.overflowing = false;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  end(): void {
    this.done = true;
    if (this.waiter !== null) {
      const w = this.waiter;
      this.waiter = null;
      w({ value: undefined, done: true });
    }
  }

  return(): Promise<IteratorResult<Bar>> {
    this.end();
    this.items.length = 0;
    this.head = 0;
    this.onReturn(this);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Bar> {
    return this;
  }
}

/** Pair spellings on the wire (`USD/SGD`, `EUR-USD`) and in REST tickers (`C:EURUSD`) reduced to `EURUSD`. */
function pairKey(text: string): string {
  return text
    .replace(/^[CX]:/, '')
    .replace(/[/-]/g, '')
    .toUpperCase();
}

/**
 * A reconnecting Polygon aggregates stream. Create it with {@link createPolygonStream}; it connects
 * on `connect()` and stays connected (re-subscribing after every reconnect) until `close()`.
 */
export interface PolygonStream {
  /** The resolved options (frozen). */
  readonly options: Readonly<PolygonStreamOptions>;
  /** Current connection state (`new` before `connect()`). */
  readonly state: PolygonStreamState | 'new';
  /** A copy of the counters. */
  stats(): PolygonStreamStats;
  /** Generic symbols currently subscribed (kept across reconnects). */
  readonly symbols: string[];
  /** Every bar as it arrives (synchronously, in frame order). Returns an unsubscribe function. */
  onBar(listener: (bar: Bar) => void): () => void;
  /** Connection state changes. Returns an unsubscribe function. */
  onStatus(listener: (status: PolygonStreamStatus) => void): () => void;
  /** Failures, fatal or not (see {@link PolygonStreamError.fatal}). Returns an unsubscribe function. */
  onError(listener: (error: PolygonStreamError) => void): () => void;
  /**
   * An async iterator over bars with its own bounded queue (`maxQueuedBars`). A consumer slower than
   * the feed loses the OLDEST queued bars, counted in `stats().droppedBars`; it never blocks the
   * socket or grows memory without bound. Ends when the stream is closed or fails.
   */
  bars(): AsyncIterableIterator<Bar>;
  /** Opens the socket. Resolves once it is authenticated; rejects on a fatal error (bad key) or close(). */
  connect(): Promise<void>;
  /** Adds generic symbols; sent at once when authenticated and again after every reconnect. */
  subscribe(symbols: readonly string[]): void;
  /** Removes generic symbols. */
  unsubscribe(symbols: readonly string[]): void;
  /** Closes the socket, cancels timers and ends every `bars()` iterator. Idempotent. */
  close(): Promise<void>;
}

// One provider idiom (issue 12): a factory returning an interface; the class stays internal.
class PolygonStreamImpl implements PolygonStream {
  readonly options: Readonly<PolygonStreamOptions>;
  private readonly mapper: SymbolMapper;
  private readonly clock: Scheduler;
  private readonly url: string;
  private readonly subscribed = new Map<string, string>(); // generic symbol -> wire key
  private readonly wireToGeneric = new Map<string, string>();
  private readonly barListeners = new Set<Listener<Bar>>();
  private readonly statusListeners = new Set<Listener<PolygonStreamStatus>>();
  private readonly errorListeners = new Set<Listener<PolygonStreamError>>();
  private readonly queues = new Set<BarQueue>();
  private ws: WebSocket | null = null;
  private currentState: PolygonStreamState | 'new' = 'new';
  private attempt = 0;
  private everConnected = false;
  private lastFrameAt = 0;
  private idleTimer: TimerHandle | null = null;
  private reconnectTimer: TimerHandle | null = null;
  private readonly counters: PolygonStreamStats = {
    framesReceived: 0,
    barsEmitted: 0,
    badFrames: 0,
    unknownSymbols: 0,
    droppedBars: 0,
    reconnects: 0,
  };

  constructor(options: Partial<PolygonStreamOptions> & { apiKey: string }) {
    const o = resolveOptions('PolygonStream', POLYGON_STREAM_DEFAULTS, options);
    if (typeof o.apiKey !== 'string' || o.apiKey.trim() === '') {
      throw new OptionsError('PolygonStream: option "apiKey" must be a non-empty string');
    }
    if (!Object.values(POLYGON_STREAM_MARKETS).includes(o.market)) {
      throw new OptionsError(
        `PolygonStream: option "market" must be one of ${Object.values(POLYGON_STREAM_MARKETS).join(', ')}, got ${JSON.stringify(o.market)}`,
      );
    }
    if (
      !Array.isArray(o.timeframes) ||
      o.timeframes.length === 0 ||
      o.timeframes.some((t) => t !== '1s' && t !== '1m')
    ) {
      throw new OptionsError(
        `PolygonStream: option "timeframes" must be a non-empty list of '1s' and '1m', got ${JSON.stringify(o.timeframes)}`,
      );
    }
    if (typeof o.url !== 'string' || (o.url !== '' && !/^wss?:\/\//.test(o.url))) {
      throw new OptionsError(
        `PolygonStream: option "url" must be a ws:// or wss:// URL, got ${JSON.stringify(o.url)}`,
      );
    }
    assertNumberOption('PolygonStream', 'idleTimeoutMs', o.idleTimeoutMs, 100);
    assertNumberOption('PolygonStream', 'connectTimeoutMs', o.connectTimeoutMs, 100);
    assertNumberOption('PolygonStream', 'reconnectInitialDelayMs', o.reconnectInitialDelayMs, 0);
    assertNumberOption(
      'PolygonStream',
      'reconnectMaxDelayMs',
      o.reconnectMaxDelayMs,
      o.reconnectInitialDelayMs,
    );
    assertNumberOption('PolygonStream', 'reconnectJitter', o.reconnectJitter, 0, 1);
    assertNumberOption('PolygonStream', 'maxReconnectAttempts', o.maxReconnectAttempts, 0);
    assertNumberOption('PolygonStream', 'maxQueuedBars', o.maxQueuedBars, 1);
    this.options = o;
    this.mapper = o.symbolMapper ?? createSymbolMapper();
    this.clock = o.clock;
    this.url = o.url !== '' ? o.url : `wss://socket.polygon.io/${o.market}`;
    for (const s of o.symbols) this.track(s);
  }

  /** Current connection state (`new` before `connect()`). */
  get state(): PolygonStreamState | 'new' {
    return this.currentState;
  }

  /** A copy of the counters. */
  stats(): PolygonStreamStats {
    return { ...this.counters };
  }

  /** Generic symbols currently subscribed (kept across reconnects). */
  get symbols(): string[] {
    return [...this.subscribed.keys()];
  }

  /** Every bar as it arrives (synchronously, in frame order). Returns an unsubscribe function. */
  onBar(listener: Listener<Bar>): () => void {
    this.barListeners.add(listener);
    return () => void this.barListeners.delete(listener);
  }

  /** Connection state changes. Returns an unsubscribe function. */
  onStatus(listener: Listener<PolygonStreamStatus>): () => void {
    this.statusListeners.add(listener);
    return () => void this.statusListeners.delete(listener);
  }

  /** Failures, fatal or not (see {@link PolygonStreamError.fatal}). Returns an unsubscribe function. */
  onError(listener: Listener<PolygonStreamError>): () => void {
    this.errorListeners.add(listener);
    return () => void this.errorListeners.delete(listener);
  }

  /**
   * An async iterator over bars with its own bounded queue (`maxQueuedBars`). A consumer slower than
   * the feed loses the OLDEST queued bars, counted in `stats().droppedBars`; it never blocks the
   * socket or grows memory without bound. Ends when the stream is closed or fails.
   */
  bars(): AsyncIterableIterator<Bar> {
    const q = new BarQueue(
      this.options.maxQueuedBars,
      (first) => {
        this.counters.droppedBars++;
        if (first)
          this.emitError(
            new PolygonStreamError(
              CODES.barsDropped,
              `a bars() consumer is too slow: its queue is full (${this.options.maxQueuedBars}); dropping the oldest bars`,
            ),
          );
      },
      (queue) => void this.queues.delete(queue),
    );
    if (this.currentState === 'closed' || this.currentState === 'failed') q.end();
    else this.queues.add(q);
    return q;
  }

  /** Opens the socket. Resolves once it is authenticated; rejects on a fatal error (bad key) or close(). */
  connect(): Promise<void> {
    if (this.currentState === 'closed')
      return Promise.reject(new PolygonStreamError(CODES.disconnected, 'stream is closed'));
    if (this.currentState === 'failed')
      return Promise.reject(
        new PolygonStreamError(CODES.disconnected, 'stream has failed; create a new one'),
      );
    if (this.isAuthenticated()) return Promise.resolve();
    const ready = new Promise<void>((resolve, reject) => {
      const offStatus = this.onStatus((s) => {
        if (s.state === 'authenticated') done(() => resolve());
        else if (s.state === 'closed')
          done(() => reject(new PolygonStreamError(CODES.disconnected, 'closed before authentication')));
      });
      const offError = this.onError((e) => {
        if (e.fatal) done(() => reject(e));
      });
      const done = (fn: () => void): void => {
        offStatus();
        offError();
        fn();
      };
    });
    if (this.currentState === 'new') this.open();
    return ready;
  }

  /** Adds generic symbols; sent at once when authenticated and again after every reconnect. */
  subscribe(symbols: readonly string[]): void {
    const added = symbols.filter((s) => !this.subscribed.has(s));
    for (const s of added) this.track(s);
    if (added.length > 0 && this.isAuthenticated()) this.send('subscribe', this.channelsFor(added));
  }

  /** Removes generic symbols. */
  unsubscribe(symbols: readonly string[]): void {
    const removed = symbols.filter((s) => this.subscribed.has(s));
    if (removed.length > 0 && this.isAuthenticated()) this.send('unsubscribe', this.channelsFor(removed));
    for (const s of removed) {
      const key = this.subscribed.get(s);
      this.subscribed.delete(s);
      if (key !== undefined) this.wireToGeneric.delete(key);
    }
  }

  /** Closes the socket, cancels timers and ends every `bars()` iterator. Idempotent. */
  async close(): Promise<void> {
    if (this.currentState === 'closed') return;
    this.cancelTimers();
    const ws = this.ws;
    this.ws = null;
    this.setState('closed');
    for (const q of this.queues) q.end();
    this.queues.clear();
    if (ws !== null) await this.shutSocket(ws, 1000);
  }

  // --- internals -------------------------------------------------------------------------------

  private track(symbol: string): void {
    const ticker = this.mapper.toProvider(symbol, 'polygon');
    if (ticker === null) {
      throw new OptionsError(`PolygonStream: symbol ${JSON.stringify(symbol)} has no Polygon ticker`);
    }
    const market = this.options.market;
    const wantsPrefix =
      market === 'forex' ? 'C:' : market === 'crypto' ? 'X:' : market === 'indices' ? 'I:' : '';
    if (wantsPrefix !== '' ? !ticker.startsWith(wantsPrefix) : /^[CXI]:/.test(ticker)) {
      throw new OptionsError(
        `PolygonStream: symbol ${JSON.stringify(symbol)} (Polygon ${ticker}) is not on the ${market} socket`,
      );
    }
    const key = market === 'forex' || market === 'crypto' ? pairKey(ticker) : ticker;
    this.subscribed.set(symbol, key);
    this.wireToGeneric.set(key, symbol);
  }

  /** Subscription params, e.g. `AM.AAPL`, `CA.EUR-USD`, `AM.I:NDX`. */
  private channelsFor(symbols: readonly string[]): string {
    const channels = POLYGON_STREAM_CHANNELS[this.options.market];
    const out: string[] = [];
    for (const s of symbols) {
      let param: string;
      if (this.options.market === 'forex' || this.options.market === 'crypto') {
        const inst = this.mapper.instrument(s);
        param = `${inst.base}-${inst.quote}`;
      } else {
        // Callers pass only tracked symbols (subscribe tracks before it sends, unsubscribe filters).
        param = this.subscribed.get(s) ?? s;
      }
      for (const tf of this.options.timeframes) out.push(`${channels[tf]}.${param}`);
    }
    return out.join(',');
  }

  private isAuthenticated(): boolean {
    return this.currentState === 'authenticated' || this.currentState === 'subscribed';
  }

  private setState(state: PolygonStreamState, extra: { delayMs?: number; message?: string } = {}): void {
    this.currentState = state;
    const status: PolygonStreamStatus = { state, attempt: this.attempt, ...extra };
    for (const l of [...this.statusListeners]) this.call(l, status);
  }

  private emitError(err: PolygonStreamError): void {
    for (const l of [...this.errorListeners]) {
      try {
        l(err);
      } catch {
        // An error listener that throws has nowhere left to report to; the socket must survive it.
      }
    }
  }

  /** Runs a listener so that its exception cannot escape into the socket's event loop. */
  private call<T>(listener: Listener<T>, value: T): void {
    try {
      listener(value);
    } catch (cause) {
      this.emitError(
        new PolygonStreamError(
          CODES.listenerFailed,
          `a listener threw: ${String((cause as Error)?.message ?? cause)}`,
          { cause },
        ),
      );
    }
  }

  private open(): void {
    this.setState('connecting');
    if (wsModule !== undefined) {
      this.openSocket(wsModule);
      return;
    }
    loadWs().then(
      (mod) => {
        if (this.currentState === 'connecting' && this.ws === null) this.openSocket(mod);
      },
      (cause: unknown) => {
        this.emitError(
          new PolygonStreamError(CODES.disconnected, `cannot load the "ws" package: ${String(cause)}`, {
            cause,
          }),
        );
        this.scheduleReconnect();
      },
    );
  }

  private openSocket(mod: WsModule): void {
    const ws = new mod.WebSocket(this.url, { handshakeTimeout: this.options.connectTimeoutMs });
    this.ws = ws;
    this.lastFrameAt = this.clock.now();
    this.armIdle();
    ws.on('message', (data: RawData) => {
      if (this.ws !== ws) return;
      this.onFrame(data);
    });
    // ws always follows 'error' with 'close': report once, on close, with the error as cause.
    let socketError: Error | undefined;
    ws.on('error', (err: Error) => {
      socketError ??= err;
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const why =
        socketError !== undefined
          ? `socket error: ${socketError.message}`
          : `closed by the server: ${reason.toString() || `code ${code}`}`;
      this.emitError(
        new PolygonStreamError(CODES.disconnected, why, {
          serverMessage: reason.toString() || undefined,
          cause: socketError,
        }),
      );
      this.scheduleReconnect();
    });
  }

  private onFrame(data: RawData): void {
    this.lastFrameAt = this.clock.now();
    this.counters.framesReceived++;
    let events: unknown;
    try {
      const text = Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.isBuffer(data)
          ? data.toString('utf8')
          : Buffer.from(data).toString('utf8');
      events = JSON.parse(text);
    } catch (cause) {
      this.badFrame('frame is not JSON', cause);
      return;
    }
    if (!Array.isArray(events)) {
      this.badFrame('frame is not a JSON array');
      return;
    }
    for (const ev of events) {
      if (!isRecord(ev) || typeof ev.ev !== 'string') {
        this.badFrame('event without "ev"');
        continue;
      }
      if (ev.ev === 'status') this.onStatusEvent(ev);
      else this.onDataEvent(ev);
      if (this.ws === null) return; // a status event ended this socket
    }
  }

  private badFrame(why: string, cause?: unknown): void {
    this.counters.badFrames++;
    this.emitError(new PolygonStreamError(CODES.badFrame, why, { cause }));
  }

  private onStatusEvent(ev: Record<string, unknown>): void {
    const status = typeof ev.status === 'string' ? ev.status : '';
    const message = typeof ev.message === 'string' ? ev.message : '';
    // The recorded sessions greet with status "connected"; Polygon's spec documents the greeting as
    // status "success" with message "Connected Successfully". Both start the auth step.
    const greeting = status === 'connected' || (status === 'success' && /^connected/i.test(message));
    switch (greeting ? 'connected' : status) {
      case 'connected':
        this.setState('authenticating', { message });
        this.sendRaw({ action: 'auth', params: this.options.apiKey });
        return;
      case 'auth_success':
        if (this.everConnected) this.counters.reconnects++;
        this.everConnected = true;
        this.attempt = 0;
        this.setState('authenticated', { message });
        if (this.subscribed.size > 0) this.send('subscribe', this.channelsFor([...this.subscribed.keys()]));
        return;
      case 'success':
        if (message.startsWith('subscribed to')) this.setState('subscribed', { message });
        return;
      case 'auth_failed':
        this.fail(
          new PolygonStreamError(CODES.authFailed, `authentication failed: ${message}`, {
            fatal: true,
            serverMessage: message,
          }),
        );
        return;
      case 'max_connections':
        this.fail(
          new PolygonStreamError(CODES.maxConnections, `server refused the connection: ${message}`, {
            fatal: true,
            serverMessage: message,
          }),
        );
        return;
      case 'auth_timeout':
        this.emitError(
          new PolygonStreamError(CODES.authTimeout, `server timed out waiting for auth: ${message}`, {
            serverMessage: message,
          }),
        );
        this.dropAndReconnect();
        return;
      default:
        this.emitError(
          new PolygonStreamError(CODES.serverStatus, `status ${JSON.stringify(status)}: ${message}`, {
            serverMessage: message,
          }),
        );
    }
  }

  private onDataEvent(ev: Record<string, unknown>): void {
    const kind = ev.ev as string;
    let timeframe: PolygonStreamTimeframe;
    if (kind === 'AM' || kind === 'CA' || kind === 'XA') timeframe = '1m';
    else if (kind === 'A' || kind === 'CAS' || kind === 'XAS') timeframe = '1s';
    else return; // trades, quotes, index values: not bars
    const wire = typeof ev.sym === 'string' ? ev.sym : typeof ev.pair === 'string' ? ev.pair : null;
    const { o, h, l, c, s } = ev;
    const v = ev.v ?? 0; // index aggregates carry no volume
    if (
      wire === null ||
      typeof o !== 'number' ||
      !(o > 0) ||
      typeof h !== 'number' ||
      !(h > 0) ||
      typeof l !== 'number' ||
      !(l > 0) ||
      typeof c !== 'number' ||
      !(c > 0) ||
      typeof s !== 'number' ||
      !Number.isFinite(s) ||
      typeof v !== 'number' ||
      !(v >= 0)
    ) {
      this.badFrame(`unusable ${kind} aggregate`);
      return;
    }
    const key = kind === 'CA' || kind === 'CAS' || kind === 'XA' || kind === 'XAS' ? pairKey(wire) : wire;
    const symbol = this.wireToGeneric.get(key) ?? this.reverseLookup(kind, key);
    if (symbol === null) {
      this.counters.unknownSymbols++;
      return;
    }
    const bar: Bar = {
      symbol,
      timeframe,
      // Index aggregates stamp `s` with the tick time, not the window start: align to the window.
      ts: alignTs(s, timeframe),
      open: o,
      high: h,
      low: l,
      close: c,
      volume: v,
      source: 'polygon',
      // Polygon sends an aggregate once its window has ended.
      final: true,
      quality: 1,
    };
    this.counters.barsEmitted++;
    for (const listener of [...this.barListeners]) this.call(listener, bar);
    for (const q of this.queues) q.push(bar);
  }

  private reverseLookup(kind: string, key: string): string | null {
    const ticker = kind.startsWith('C') ? `C:${key}` : kind.startsWith('X') ? `X:${key}` : key;
    try {
      return this.mapper.fromProvider(ticker, 'polygon');
    } catch {
      return null;
    }
  }

  private send(action: 'subscribe' | 'unsubscribe', params: string): void {
    this.sendRaw({ action, params });
  }

  private sendRaw(msg: { action: string; params: string }): void {
    const ws = this.ws;
    if (ws === null || ws.readyState !== ws.OPEN) return;
    ws.send(JSON.stringify(msg));
  }

  private armIdle(): void {
    if (this.idleTimer !== null) return;
    this.idleTimer = this.clock.setTimeout(() => this.checkIdle(), this.options.idleTimeoutMs);
  }

  /** One timer per idle window rather than one per frame: re-armed for the remaining time. */
  private checkIdle(): void {
    this.idleTimer = null;
    if (this.ws === null) return;
    const quietFor = this.clock.now() - this.lastFrameAt;
    if (quietFor < this.options.idleTimeoutMs) {
      this.idleTimer = this.clock.setTimeout(() => this.checkIdle(), this.options.idleTimeoutMs - quietFor);
      return;
    }
    this.setState('idle', { message: `no frame for ${quietFor} ms` });
    this.emitError(
      new PolygonStreamError(
        CODES.idle,
        `no frame for ${quietFor} ms (idleTimeoutMs ${this.options.idleTimeoutMs})`,
      ),
    );
    this.dropAndReconnect();
  }

  private dropAndReconnect(): void {
    const ws = this.ws;
    this.ws = null;
    if (ws !== null) void this.shutSocket(ws, 4000);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.currentState === 'closed' || this.currentState === 'failed') return;
    this.cancelTimers();
    this.attempt++;
    if (this.attempt > this.options.maxReconnectAttempts) {
      this.fail(
        new PolygonStreamError(
          CODES.reconnectExhausted,
          `gave up after ${this.options.maxReconnectAttempts} reconnect attempts`,
          { fatal: true },
        ),
      );
      return;
    }
    const base = Math.min(
      this.options.reconnectMaxDelayMs,
      this.options.reconnectInitialDelayMs * 2 ** (this.attempt - 1),
    );
    const delayMs = Math.round(base * (1 - this.options.reconnectJitter * Math.random()));
    this.setState('reconnecting', { delayMs });
    this.reconnectTimer = this.clock.setTimeout(() => {
      this.reconnectTimer = null;
      if (this.currentState === 'reconnecting') this.open();
    }, delayMs);
  }

  private fail(err: PolygonStreamError): void {
    this.cancelTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws !== null) void this.shutSocket(ws, 1000);
    this.emitError(err);
    this.setState('failed', { ...(err.serverMessage !== undefined ? { message: err.serverMessage } : {}) });
    for (const q of this.queues) q.end();
    this.queues.clear();
  }

  private cancelTimers(): void {
    this.idleTimer?.cancel();
    this.idleTimer = null;
    this.reconnectTimer?.cancel();
    this.reconnectTimer = null;
  }

  /** Closes a socket we gave up on; a peer that does not answer the close handshake is cut after 1 s. */
  private shutSocket(ws: WebSocket, code: number): Promise<void> {
    ws.removeAllListeners();
    ws.on('error', () => undefined); // a late error on a discarded socket is not news
    if (ws.readyState === ws.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const cut = setTimeout(() => ws.terminate(), 1000);
      cut.unref();
      ws.once('close', () => {
        clearTimeout(cut);
        resolve();
      });
      if (ws.readyState === ws.CONNECTING) ws.terminate();
      else ws.close(code);
    });
  }
}

/** Creates a {@link PolygonStream}; call `connect()` to start it. */
export function createPolygonStream(
  options: Partial<PolygonStreamOptions> & { apiKey: string },
): PolygonStream {
  return new PolygonStreamImpl(options);
}
