import { containsSecret } from '@pipeline/core';

/**
 * Label values end up in every scrape, in dashboards and in long-term storage, so they must never
 * carry secrets and must stay low-cardinality. These rules apply to every label value this package
 * writes.
 */

/** Longest label value kept; longer values are cut. */
export const MAX_LABEL_VALUE_LENGTH = 64;

/** What replaces a value that looks like a credential. */
export const REDACTED_LABEL_VALUE = 'redacted';

/**
 * Key-shaped runs: 16+ characters of letters, digits, `+`, `=`, `-` mixing at least 3 digits and 3
 * letters (the providers' keys are 16-32 alphanumerics; JWT segments match too). Underscores,
 * dots and slashes break runs so snake_case rule names and route patterns are not mistaken for keys.
 */
const KEY_RUN = /[A-Za-z0-9+=-]{16,}/g;
function looksLikeKey(text: string): boolean {
  for (const [run] of text.matchAll(KEY_RUN)) {
    const digits = run.replace(/[^0-9]/g, '').length;
    const letters = run.replace(/[^A-Za-z]/g, '').length;
    if (digits >= 3 && letters >= 3) return true;
  }
  return false;
}

/**
 * Returns a label value safe to expose: query strings and fragments are dropped (route labels
 * must be patterns, not URLs), credential-looking values become `redacted`, control
 * characters are removed and the value is cut at {@link MAX_LABEL_VALUE_LENGTH}.
 */
export function sanitizeLabelValue(value: unknown): string {
  if (value === undefined || value === null) return 'none';
  let text = toText(value);
  const cut = text.search(/[?#]/);
  if (cut >= 0) text = text.slice(0, cut);
  // core's one redaction decides what a secret looks like (every name spelling, Bearer/Basic,
  // user-info); a label cannot be partly masked, so a value with any secret is dropped whole.
  if (containsSecret(text) || looksLikeKey(text)) {
    return REDACTED_LABEL_VALUE;
  }
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  text = text.replace(/[\u0000-\u001f\u007f]/g, '');
  if (text.length > MAX_LABEL_VALUE_LENGTH) text = text.slice(0, MAX_LABEL_VALUE_LENGTH);
  return text === '' ? 'none' : text;
}

/** Maps a value onto a closed set, or `other`, so a bug upstream cannot explode cardinality. */
export function closedLabelValue(value: unknown, allowed: ReadonlySet<string>): string {
  return typeof value === 'string' && allowed.has(value) ? value : 'other';
}

/** Primitive values as text; objects as their type name (never `[object Object]` or JSON of a secret-bearing object). */
export function toText(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    default:
      return typeof value;
  }
}
