/** A logger-shaped sink that records instead of printing, to assert on what was (not) logged. */
export interface CapturedLog {
  level: string;
  message: string;
  meta?: unknown;
}

export function captureLogger(): {
  entries: CapturedLog[];
  text(): string;
  error(message: string, meta?: unknown): void;
  warn(message: string, meta?: unknown): void;
  info(message: string, meta?: unknown): void;
  debug(message: string, meta?: unknown): void;
} {
  const entries: CapturedLog[] = [];
  const at = (level: string) => (message: string, meta?: unknown) =>
    void entries.push({ level, message, meta });
  return {
    entries,
    text: () => entries.map((e) => `${e.level} ${e.message} ${JSON.stringify(e.meta ?? '')}`).join('\n'),
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
  };
}
