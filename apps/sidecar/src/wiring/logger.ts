import { type Writable } from 'node:stream';
import winston from 'winston';
import { type LogFormat, type LogLevel } from './config';

/** What the sidecar's parts log through: winston's logger fits, and so does test-utils' captureLogger. */
export interface Logger {
  error(message: string, meta?: unknown): void;
  warn(message: string, meta?: unknown): void;
  info(message: string, meta?: unknown): void;
  debug(message: string, meta?: unknown): void;
}

/** A logger that drops everything (the default for parts created without one). */
export const silentLogger: Logger = Object.freeze({
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
});

export interface CreateLoggerOptions {
  /** Winston level. @default 'info' */
  level?: LogLevel;
  /** `json` (one object per line), `pretty` (coloured, for a terminal) or `auto`. @default 'auto' */
  format?: LogFormat;
  /** Secret values (API keys, the API token) replaced by `***` wherever they appear. @default [] */
  secrets?: readonly string[];
  /** Where lines go. @default process.stdout */
  stream?: Writable;
  /** Whether `auto` should pick `pretty`: true when the stream is a TTY and NODE_ENV is not production. @default false */
  isTerminal?: boolean;
}

/** Meta keys whose values are secrets whatever they contain. */
const SECRET_KEY_RE = /^(api[-_]?key|apikey|token|api[-_]?token|authorization|password|secret)$/i;
/** Secrets embedded in text: query parameters and bearer headers. */
const SECRET_TEXT_RES: readonly RegExp[] = [
  /((?:api[-_]?key|apikey|token|access_token)=)[^&\s"']+/gi,
  /(Bearer\s+)[A-Za-z0-9._~+/=-]+/g,
];

/**
 * Returns a function that deep-copies a value with every secret replaced by `***`: known secret
 * values anywhere in strings, secret-looking meta keys, and `apikey=` / `Bearer` patterns.
 */
export function createRedactor(secrets: readonly string[]): (value: unknown) => unknown {
  // Longest first, so a secret that contains another is replaced whole.
  const values = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  const text = (s: string): string => {
    let out = s;
    for (const secret of values) out = out.split(secret).join('***');
    for (const re of SECRET_TEXT_RES) out = out.replace(re, '$1***');
    return out;
  };
  const walk = (v: unknown, depth: number, seen: WeakSet<object>): unknown => {
    if (typeof v === 'string') return text(v);
    if (typeof v !== 'object' || v === null || depth > 8) return v;
    if (seen.has(v)) return '[circular]';
    seen.add(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1, seen));
    if (v instanceof Error) {
      const e: Record<string, unknown> = { name: v.name, message: text(v.message) };
      if (v.stack) e.stack = text(v.stack);
      for (const [k, x] of Object.entries(v)) e[k] = SECRET_KEY_RE.test(k) ? '***' : walk(x, depth + 1, seen);
      if (v.cause !== undefined) e.cause = walk(v.cause, depth + 1, seen);
      return e;
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v))
      out[k] = SECRET_KEY_RE.test(k) && x != null ? '***' : walk(x, depth + 1, seen);
    return out;
  };
  return (value) => walk(value, 0, new WeakSet());
}

/**
 * The sidecar's winston logger: JSON lines in production (or when not on a terminal), coloured
 * readable lines in a terminal; secrets redacted in the message and every meta field.
 */
export function createLogger(options: CreateLoggerOptions = {}): winston.Logger {
  const level = options.level ?? 'info';
  const format = options.format ?? 'auto';
  const pretty = format === 'pretty' || (format === 'auto' && options.isTerminal === true);
  const redact = createRedactor(options.secrets ?? []);
  // winston keeps meta fields on the info object itself; the message and splat symbols are left alone.
  const redactFormat = winston.format((info) => {
    for (const key of Object.keys(info)) {
      if (key === 'level') continue;
      info[key] = SECRET_KEY_RE.test(key) ? '***' : redact(info[key]);
    }
    return info;
  });
  const base = [winston.format.errors({ stack: true }), redactFormat(), winston.format.timestamp()];
  const fmt = pretty
    ? winston.format.combine(
        ...base,
        winston.format.colorize(),
        winston.format.printf((info) => {
          const { level: lv, message, timestamp, stack, ...rest } = info;
          const meta = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
          return `${String(timestamp)} ${lv} ${String(message)}${meta}${typeof stack === 'string' ? `\n${stack}` : ''}`;
        }),
      )
    : winston.format.combine(...base, winston.format.json());
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();
  return winston.createLogger({ level, format: fmt, transports: [transport], exitOnError: false });
}
