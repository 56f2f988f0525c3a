import { redactText } from '@pipeline/core';

/** Maximum length kept of a redacted message. */
export const MAX_MESSAGE_LENGTH = 300;

/**
 * Connection strings carry passwords (`postgres://user:secret@host/db`); node-postgres errors and
 * socket errors can echo a DSN or a `password=` fragment. Every message that leaves the store (errors,
 * health) passes through core's one redaction, plus the configured password wherever it appears.
 */
export function redact(message: string, secrets: readonly (string | undefined)[] = []): string {
  const out = redactText(message, secrets);
  return out.length > MAX_MESSAGE_LENGTH ? `${out.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : out;
}

/** The password of a connection URL, decoded, or undefined. */
export function passwordOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}
