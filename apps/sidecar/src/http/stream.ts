// GET /stream (Server-Sent Events) and GET /stream/ws (its WebSocket twin) on top of the stream hub.
// Subscribe by query (`symbols=EURUSD,XAUUSD&kinds=bars,signals`); resume with `Last-Event-ID` (SSE
// header), `lastEventId` (query) or, on the WebSocket, a first message `{"lastEventId": N}`. What the
// ring still holds is replayed; bars older than the ring come from the history store (at most the
// hub's `maxBackfillBars`, else `reset`). A client that leaves more than the hub's `maxQueue` events
// unsent past the turn they were published in is dropped: SSE gets a final `event: error` with code
// SLOW_CONSUMER, WebSocket a close with code 1008 and reason `SLOW_CONSUMER`.
import { type ServerResponse } from 'node:http';
import websocket from '@fastify/websocket';
import { STREAM_KINDS, streamQuerySchema } from '@pipeline/client';
import { TIMEFRAME_MS, type Bar, type Timeframe } from '@pipeline/core';
import { type FastifyInstance, type FastifyRequest } from 'fastify';
import { type WebSocket } from 'ws';
import { feedStreamHub, type StreamFeedSource } from './stream-feed';
import {
  createStreamHub,
  idTime,
  type HubEvent,
  type StreamFilter,
  type StreamHub,
  type StreamHubOptions,
  type StreamKind,
} from './stream-hub';

declare module 'fastify' {
  interface FastifyInstance {
    /** The push-stream hub this app serves (buildApp creates it). */
    streamHub: StreamHub;
  }
}

export const STREAM_ERROR_CODES = { SLOW_CONSUMER: 'SLOW_CONSUMER' } as const;
/** WebSocket close code for a dropped slow client (1008: policy violation). */
export const WS_SLOW_CONSUMER_CLOSE = 1008;
/** Comment line sent this often so proxies keep an idle stream open, ms. */
const HEARTBEAT_MS = 15_000;
/** After a drop, a client that does not read its close is cut off after this long, ms. */
const DROP_GRACE_MS = 2_000;
/** A WebSocket without `lastEventId` in its query may send it as its first message within this time, ms. */
const WS_RESUME_WAIT_MS = 1_000;

interface StreamQuery {
  symbols?: string;
  kinds?: string;
  lastEventId?: string;
  token?: string;
}

class BadStreamQuery extends Error {
  readonly statusCode = 400;
}

function parseFilter(q: StreamQuery, resolveSymbol: (s: string) => string): StreamFilter {
  const list = (s: string | undefined) =>
    (s ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const kinds = list(q.kinds);
  for (const k of kinds) {
    if (!(STREAM_KINDS as readonly string[]).includes(k)) {
      throw new BadStreamQuery(`kinds: ${JSON.stringify(k)} is not one of ${STREAM_KINDS.join(', ')}`);
    }
  }
  return {
    // resolveSymbol throws UnknownSymbolError, answered 404 by the API's error handler.
    symbols: new Set(list(q.symbols).map(resolveSymbol)),
    kinds: new Set((kinds.length ? kinds : STREAM_KINDS) as StreamKind[]),
  };
}

function parseLastId(raw: unknown): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const s = typeof raw === 'string' || typeof raw === 'number' ? String(raw) : JSON.stringify(raw);
  if (!/^\d{1,16}$/.test(s))
    throw new BadStreamQuery(`lastEventId must be a decimal event id, got ${JSON.stringify(s)}`);
  return Number(s);
}

// One serialisation per event, however many clients receive it.
const encoded = new WeakMap<HubEvent, string>();
const toJson = (e: HubEvent): string => {
  let json = encoded.get(e);
  if (json === undefined) {
    json = JSON.stringify(e.symbol === undefined ? { id: e.id, kind: e.kind, data: e.data } : e);
    encoded.set(e, json);
  }
  return json;
};

/** The history store as the stream reads it to backfill finished bars older than the ring. */
export interface StreamHistory {
  /** Every symbol the sidecar collects (a stream without `symbols` gets them all). */
  symbols: readonly string[];
  /** The base timeframe: the one the stream's `bars` events are in. */
  timeframe: Timeframe;
  /** The read model's `barsRange`: bars with `from <= ts < to`, oldest first. */
  barsRange(
    symbol: string,
    timeframe: Timeframe,
    from: number,
    to: number,
    limit: number,
  ): Promise<{ bars: readonly Bar[] }>;
}

export interface StreamRoutesOptions {
  hub: StreamHub;
  resolveSymbol: (input: string) => string;
  /** Resume older than the ring: finished bars from here. @default none: such a client gets `reset` */
  history?: StreamHistory;
}

const RESET_REASON = 'events after the given id are no longer kept; refetch';

/**
 * The finished bars of `symbols` a client resuming from `after` may have missed: open time from one
 * bar before the bar forming when `after` was published, up to now, oldest first. A string says why
 * not (the gap is longer than `maxBackfillBars`, or the store failed): the client gets `reset`.
 */
export async function backfillBars(
  history: StreamHistory,
  symbols: readonly string[],
  after: number,
  now: number,
  maxBars: number,
): Promise<Bar[] | string> {
  const tf = TIMEFRAME_MS[history.timeframe];
  const from = Math.floor(idTime(after) / tf) * tf - tf;
  if (from > now) return "the given id is newer than this sidecar's clock";
  const perSymbol = Math.ceil((now - from) / tf) + 1;
  if (perSymbol * symbols.length > maxBars) {
    return `the gap since the given id spans up to ${perSymbol * symbols.length} bars, more than the ${maxBars} a resume backfills; refetch /bars`;
  }
  try {
    const out: Bar[] = [];
    for (const symbol of symbols) {
      const { bars } = await history.barsRange(symbol, history.timeframe, from, now + tf, perSymbol);
      for (const b of bars) if (b.final) out.push(b);
    }
    return out.sort((a, b) => a.ts - b.ts || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  } catch (err) {
    return `the history store could not be read (${String((err as Error).message ?? err)}); refetch /bars`;
  }
}

/**
 * Sends `out` what a client resuming from `after` missed, then every new event, in order; returns
 * the function that stops it. Replay and subscribe happen in one synchronous step, so no event slips
 * between them. When `bars` events after `after` were evicted from the ring (or the id is from an
 * earlier run) and the history store is known, the finished bars since the id's time come from the
 * store first (each with `id` = `after`, so a client cut off during them resumes from the same
 * point); other evicted kinds (and bars past the limit) get `reset`. Nothing is buffered per client
 * while the store is read: the ring is replayed once the read is done, and should it have evicted
 * bars published during the read, the client gets `reset` for bars instead of a silent hole.
 */
function follow(
  hub: StreamHub,
  history: StreamHistory | undefined,
  filter: StreamFilter,
  after: number | undefined,
  out: (e: HubEvent) => void,
): () => void {
  const replayAndSubscribe = (from: number, backfilled: Bar[] | null, reason: string) => {
    const r = hub.replay(filter, from);
    const reset = backfilled ? r.reset.filter((k) => k !== 'bars') : r.reset;
    if (reset.length) out(hub.reset(reset, reset.includes('bars') ? reason : RESET_REASON));
    for (const b of backfilled ?? []) out({ id: from, kind: 'bars', symbol: b.symbol, data: b });
    for (const e of r.events) out(e);
    return hub.subscribe({ filter, send: out });
  };
  if (after === undefined) return hub.subscribe({ filter, send: out });
  if (!(history && hub.replay(filter, after).reset.includes('bars'))) {
    return replayAndSubscribe(after, null, RESET_REASON);
  }
  let unsubscribe: (() => void) | null = null;
  let stopped = false;
  const readFrom = hub.lastId;
  const symbols = filter.symbols.size ? [...filter.symbols] : history.symbols;
  void backfillBars(history, symbols, after, hub.now(), hub.options.maxBackfillBars).then((bars) => {
    if (stopped) return;
    const barsOnly: StreamFilter = { symbols: filter.symbols, kinds: new Set(['bars']) };
    if (typeof bars === 'string') {
      unsubscribe = replayAndSubscribe(after, null, bars);
    } else if (hub.replay(barsOnly, readFrom).reset.length) {
      unsubscribe = replayAndSubscribe(
        after,
        null,
        'more bars were published while the history store was read than the replay ring keeps; refetch /bars',
      );
    } else {
      unsubscribe = replayAndSubscribe(after, bars, RESET_REASON);
    }
  });
  return () => {
    stopped = true;
    unsubscribe?.();
  };
}

/** Registers /stream and /stream/ws (call inside buildApp; the websocket plugin is registered here). */
export function registerStreamRoutes(
  app: FastifyInstance,
  { hub, resolveSymbol, history }: StreamRoutesOptions,
): void {
  const maxQueue = hub.options.maxQueue;
  // Open SSE responses, ended when the app closes (hijacked replies would keep close() waiting).
  const open = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of open) res.socket?.destroy();
  });

  app.get<{ Querystring: StreamQuery }>(
    '/stream',
    {
      schema: {
        description:
          'Server-Sent Events: `id:` the event id, `event:` the kind, `data:` the event as JSON. Resume with ' +
          'the `Last-Event-ID` header or `lastEventId`: finished bars older than the replay ring come from ' +
          'the history store (at most STREAM_BACKFILL_MAX_BARS, else a `reset` event with the reason), ' +
          'then the ring, then live events. EventSource cannot set headers: pass the API token ' +
          'as `token` in the query. A WebSocket twin is at `/stream/ws` (same query; one JSON event per message).',
        querystring: streamQuerySchema,
        response: {
          200: {
            description: 'text/event-stream',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (req, reply) => {
      const filter = parseFilter(req.query, resolveSymbol);
      const after = parseLastId(req.headers['last-event-id'] ?? req.query.lastEventId);
      const res = reply.raw;
      reply.hijack();
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write('retry: 2000\n\n');
      open.add(res);
      res.on('close', () => open.delete(res));
      startSse(res, req, (out) => follow(hub, history, filter, after, out), maxQueue);
    },
  );

  app.register(async (scope) => {
    await scope.register(websocket, { options: { maxPayload: 4096 } });
    // An upgrade refused before the plugin's own hooks ran (401 from the token check) leaves the
    // socket open and paused: close it once the refusal is sent.
    scope.addHook('onResponse', async (req, reply) => {
      if (req.headers.upgrade && reply.statusCode >= 400) req.raw.socket.destroy();
    });
    scope.get<{ Querystring: StreamQuery }>(
      '/stream/ws',
      {
        websocket: true,
        // A bad kind (400), unknown symbol (404) or bad id (400) is answered before the upgrade, as an
        // HTTP status like /stream's, rather than as a close after it.
        preValidation: async (req) => {
          parseFilter(req.query, resolveSymbol);
          parseLastId(req.query.lastEventId);
        },
        schema: {
          description:
            'WebSocket twin of /stream: the same query; each message is one event as JSON ' +
            '(`{"id","kind","symbol","data"}`); resume with `lastEventId` in the query or a first message ' +
            '`{"lastEventId": N}` within 1 s. A slow client is closed with code 1008, reason SLOW_CONSUMER.',
          querystring: streamQuerySchema,
        },
      },
      (socket, req) => startWs(socket, req, hub, history, resolveSymbol, maxQueue),
    );
  });
}

function startSse(
  res: ServerResponse,
  req: FastifyRequest,
  start: (out: (e: HubEvent) => void) => () => void,
  maxQueue: number,
): void {
  // Events of one event-loop turn go out as one write (a cycle's thousand bars: one syscall, one
  // chunk). `backlog` counts events in writes the socket has not completed; it is judged when the
  // next turn's events are flushed, so a burst larger than maxQueue that the kernel takes at once
  // is no slowness, and a client that leaves more than maxQueue unsent from earlier turns is dropped.
  let backlog = 0;
  let closed = false;
  let buf = '';
  let bufCount = 0;
  let scheduled = false;
  const frame = (e: HubEvent) => `id: ${e.id}\nevent: ${e.kind}\ndata: ${toJson(e)}\n\n`;
  const send = (e: HubEvent) => {
    if (closed) return;
    buf += frame(e);
    bufCount++;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  function flush() {
    scheduled = false;
    if (closed) return;
    if (backlog > maxQueue) return drop();
    const n = bufCount;
    const chunk = buf;
    buf = '';
    bufCount = 0;
    backlog += n;
    res.write(chunk, () => void (backlog -= n));
  }
  function drop() {
    const message = `more than ${maxQueue} events unsent: the client reads too slowly`;
    buf = '';
    res.write(
      `event: error\ndata: ${JSON.stringify({ code: STREAM_ERROR_CODES.SLOW_CONSUMER, message })}\n\n`,
    );
    close();
    // The connection ends with the stream (no keep-alive reuse); a client that never reads is cut off.
    const socket = res.socket;
    res.end(() => socket?.destroySoon());
    setTimeout(() => socket?.destroy(), DROP_GRACE_MS).unref();
  }
  function close() {
    if (closed) return;
    closed = true;
    unsubscribe();
    clearInterval(beat);
  }
  const unsubscribe = start(send);
  const beat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  beat.unref();
  req.raw.on('close', close);
  res.on('close', close);
}

function startWs(
  socket: WebSocket,
  req: FastifyRequest<{ Querystring: StreamQuery }>,
  hub: StreamHub,
  history: StreamHistory | undefined,
  resolveSymbol: (s: string) => string,
  maxQueue: number,
): void {
  let filter: StreamFilter;
  let after: number | undefined;
  try {
    filter = parseFilter(req.query, resolveSymbol);
    after = parseLastId(req.query.lastEventId);
  } catch (err) {
    socket.close(1008, String((err as Error).message).slice(0, 120));
    return;
  }
  // As on SSE: `backlog` (events sent, not yet written to the socket) is judged once the turn that
  // sent them has ended, so a burst the kernel takes at once is no slowness.
  let backlog = 0;
  let closed = false;
  let checking = false;
  const flushed = () => void backlog--;
  const check = () => {
    checking = false;
    if (closed || backlog <= maxQueue) return;
    close();
    socket.close(WS_SLOW_CONSUMER_CLOSE, STREAM_ERROR_CODES.SLOW_CONSUMER);
    setTimeout(() => socket.terminate(), DROP_GRACE_MS).unref();
  };
  const transmit = (e: HubEvent) => {
    if (closed) return;
    backlog++;
    socket.send(toJson(e), flushed);
    if (!checking) {
      checking = true;
      setImmediate(check);
    }
  };
  let unsubscribe: (() => void) | null = null;
  const start = (from: number | undefined) => {
    clearTimeout(wait);
    if (closed || unsubscribe) return;
    unsubscribe = follow(hub, history, filter, from, transmit);
  };
  function close() {
    if (closed) return;
    closed = true;
    clearTimeout(wait);
    unsubscribe?.();
  }
  // Without `lastEventId` in the query the client may send it as a first message; until then (at
  // most WS_RESUME_WAIT_MS) nothing is sent, and what was published meanwhile comes from the ring.
  const connectedAt = hub.lastId;
  const wait = after === undefined ? setTimeout(() => start(connectedAt), WS_RESUME_WAIT_MS) : undefined;
  wait?.unref();
  if (after !== undefined) start(after);
  socket.on('message', (data) => {
    if (unsubscribe) return;
    let id: number | undefined;
    try {
      id = parseLastId(
        (JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : '') as { lastEventId?: unknown })
          .lastEventId,
      );
    } catch {
      id = undefined;
    }
    start(id ?? connectedAt);
  });
  socket.on('close', close);
}

/**
 * Creates the hub (or takes the one given), registers the routes and, when the view is a whole
 * sidecar (it has onBars/onSignal/onCycle), feeds the hub from it until the app closes.
 */
export function attachStream(
  app: FastifyInstance,
  view: { resolveSymbol(input: string): string },
  options: { hub?: StreamHub; stream?: StreamHubOptions },
): StreamHub {
  const hub = options.hub ?? createStreamHub(options.stream);
  app.decorate('streamHub', hub);
  // A whole sidecar (its read model's barsRange and its symbols) backfills resumes from the store.
  const store = view as Partial<{
    barsRange: StreamHistory['barsRange'];
    config: { symbols?: readonly string[]; timeframe?: Timeframe };
  }>;
  const history: StreamHistory | undefined =
    typeof store.barsRange === 'function' && store.config?.symbols && store.config.timeframe
      ? {
          symbols: store.config.symbols,
          timeframe: store.config.timeframe,
          barsRange: store.barsRange.bind(view),
        }
      : undefined;
  registerStreamRoutes(app, {
    hub,
    resolveSymbol: (s) => view.resolveSymbol(s),
    ...(history ? { history } : {}),
  });
  const source = view as Partial<StreamFeedSource>;
  if (source.onBars && source.onSignal && source.onCycle && source.health && source.config) {
    const off = feedStreamHub(hub, source as StreamFeedSource);
    app.addHook('onClose', async () => off());
  }
  return hub;
}
