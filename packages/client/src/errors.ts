// The client's one error type. Recognise it with isClientError (not instanceof: two copies of this
// package may be loaded).

/** Error codes of {@link ClientError}. */
export const CLIENT_ERROR_CODES = {
  /** The server answered with a non-2xx status; `status` and the server's `error.code` are set. */
  HTTP: 'HTTP',
  /** The server could not be reached or the connection broke. */
  NETWORK: 'NETWORK',
  /** The server dropped the stream because the client read too slowly. */
  SLOW_CONSUMER: 'SLOW_CONSUMER',
  /** A bad option was passed to createClient or a method. */
  BAD_OPTION: 'BAD_OPTION',
} as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[keyof typeof CLIENT_ERROR_CODES];

const BRAND = Symbol.for('@pipeline/client/ClientError');

export class ClientError extends Error {
  readonly [BRAND] = true;
  override readonly name = 'ClientError';
  readonly code: ClientErrorCode;
  /** HTTP status, for code HTTP. */
  readonly status?: number;
  /** The server's error code (`UNKNOWN_SYMBOL`, `BAD_REQUEST`, `UNAUTHORIZED`...), for code HTTP. */
  readonly serverCode?: string;

  constructor(
    code: ClientErrorCode,
    message: string,
    extra: { status?: number; serverCode?: string; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.serverCode !== undefined) this.serverCode = extra.serverCode;
  }
}

export function isClientError(err: unknown, code?: ClientErrorCode): err is ClientError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as Record<symbol, unknown>)[BRAND] === true &&
    (code === undefined || (err as ClientError).code === code)
  );
}
