import { PipelineError, isPipelineError } from '@pipeline/core';

/** Codes of {@link PolygonStreamError}; see the README's errors table. */
export const POLYGON_STREAM_ERROR_CODES = {
  /** The server refused the API key (`auth_failed`). Fatal: the stream stops, no reconnect. */
  authFailed: 'POLYGON_WS_AUTH_FAILED',
  /** The server saw no auth message in time (`auth_timeout`). The stream reconnects. */
  authTimeout: 'POLYGON_WS_AUTH_TIMEOUT',
  /** Too many connections for this key (`max_connections`). Fatal: reconnecting would only fight the other connection. */
  maxConnections: 'POLYGON_WS_MAX_CONNECTIONS',
  /** No frame for `idleTimeoutMs`; the stream drops the socket and reconnects. */
  idle: 'POLYGON_WS_IDLE',
  /** The socket failed or closed without being asked to. The stream reconnects. */
  disconnected: 'POLYGON_WS_DISCONNECTED',
  /** `maxReconnectAttempts` consecutive attempts failed; the stream stopped. */
  reconnectExhausted: 'POLYGON_WS_RECONNECT_EXHAUSTED',
  /** A frame was not a JSON array of events, or an aggregate had unusable fields; it is skipped and counted. */
  badFrame: 'POLYGON_WS_BAD_FRAME',
  /** A bar iterator's queue was full: its oldest bars are being dropped (reported once per overflow episode). */
  barsDropped: 'POLYGON_WS_BARS_DROPPED',
  /** A status frame this client does not know, e.g. a server-side error message. */
  serverStatus: 'POLYGON_WS_SERVER_STATUS',
  /** An `onBar`/`onStatus` listener threw; the error is the cause, the stream carries on. */
  listenerFailed: 'POLYGON_WS_LISTENER_FAILED',
} as const;
export type PolygonStreamErrorCode =
  (typeof POLYGON_STREAM_ERROR_CODES)[keyof typeof POLYGON_STREAM_ERROR_CODES];

const STREAM_CODES = new Set<string>(Object.values(POLYGON_STREAM_ERROR_CODES));

/** Everything the Polygon WebSocket client reports through `onError`. Never carries the API key. */
export class PolygonStreamError extends PipelineError {
  declare readonly code: PolygonStreamErrorCode;
  /** True when the stream stopped for good because of this error. */
  readonly fatal: boolean;
  /** The server's status message or the socket's close reason, when there was one. */
  readonly serverMessage: string | undefined;

  constructor(
    code: PolygonStreamErrorCode,
    message: string,
    init: { fatal?: boolean; serverMessage?: string; cause?: unknown } = {},
  ) {
    super(code, `[polygon-ws] ${message}`, { cause: init.cause });
    this.fatal = init.fatal ?? false;
    this.serverMessage = init.serverMessage;
  }
}

/** True for a {@link PolygonStreamError} from any copy of this package. */
export function isPolygonStreamError(value: unknown): value is PolygonStreamError {
  return isPipelineError(value) && STREAM_CODES.has(value.code);
}
