import { type Writable } from 'node:stream';
import { createRedactor, isSecretName, REDACTED } from '@pipeline/core';
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

// Secret redaction is core's one implementation (names, shapes and the configured values); it is
// re-exported here under the name the sidecar has always exported.
export { createRedactor } from '@pipeline/core';

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
      info[key] = isSecretName(key) ? REDACTED : redact(info[key]);
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
