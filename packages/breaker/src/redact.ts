import { redactText } from '@pipeline/core';

/** Maximum length kept of an error message. */
export const MAX_MESSAGE_LENGTH = 300;

/**
 * Error messages of unknown errors may carry URLs with API keys or auth headers. Snapshots and
 * exported state only ever hold messages passed through here: core's one redaction (`redactText`,
 * every secret spelling masked as `***`), then cut at {@link MAX_MESSAGE_LENGTH} characters.
 */
export function redactMessage(message: string): string {
  const cleaned = redactText(message);
  return cleaned.length > MAX_MESSAGE_LENGTH ? `${cleaned.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : cleaned;
}
