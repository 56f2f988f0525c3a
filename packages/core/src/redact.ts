/**
 * The one secret redaction of the @pipeline packages. Everything that can reach a log line, an error
 * message, a health snapshot or a metric label goes through here: fetchers' URLs and provider error
 * bodies, the breaker's last error, metrics label values, the sidecar logger's messages and meta.
 *
 * A secret is recognised by its NAME (query parameter, header, JSON or object key), by its SHAPE
 * (`Bearer <token>`, `Basic <credentials>`, `user:password@` in a URL) or by its VALUE (the caller
 * passes the configured keys). The value is replaced by {@link REDACTED}; the name stays, so a reader
 * still sees which credential was involved.
 */

/** What replaces a secret value. */
export const REDACTED = '***';

/**
 * Names whose values are secrets, compared case-insensitively with `-` and `_` ignored, so `apikey`,
 * `api_key`, `apiKey`, `API-KEY` and `x-api-key` are all caught. `key` alone is on the list because
 * several providers call their credential that (a cache "key: ..." in a message is masked too: safe side).
 */
export const SECRET_NAMES = Object.freeze([
  'apikey',
  'api_key',
  'api_token',
  'x_api_key',
  'key',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'auth_token',
  'password',
  'passwd',
  'pwd',
  'secret',
  'client_secret',
  'signature',
  'sig',
  'auth',
  'authorization',
  'proxy_authorization',
  'cookie',
  'set_cookie',
] as const);

/**
 * Query parameter names whose values are secrets (compared case-insensitively, `-`/`_` ignored): the
 * same list as {@link SECRET_NAMES}. Kept under this name for the fetchers' API.
 */
export const SECRET_QUERY_PARAMS: readonly string[] = SECRET_NAMES;

const normalise = (name: string): string => name.toLowerCase().replace(/[-_]/g, '');
const SECRET_SET = new Set<string>(SECRET_NAMES.map(normalise));

/** True when `name` (a query parameter, header, JSON or object key) holds a secret by its name. */
export function isSecretName(name: string): boolean {
  return SECRET_SET.has(normalise(name));
}

// Name alternation for the text patterns below: each name with optional `-`/`_` between its words.
const NAME_ALT = [...new Set(SECRET_NAMES)]
  .sort((a, b) => b.length - a.length)
  .map((n) => n.replace(/_/g, '[-_]?').replace(/^apikey$/, 'api[-_]?key'))
  .join('|');

// `name=value` in a query string or free text (value up to a separator).
const PAIR_EQ = new RegExp(`(^|[?&;,\\s"'(\\[{])((?:${NAME_ALT})=)([^&\\s"'#,;)\\]}]*)`, 'gi');
// `"name": "value"` in JSON (also `'name': 'value'`), string values only.
const PAIR_JSON = new RegExp(`(["'])((?:${NAME_ALT})\\1\\s*:\\s*)(["'])((?:\\\\.|(?!\\3).)*)\\3`, 'gi');
// The same pair inside a JSON string that itself was JSON-encoded (`"{\\"apikey\\":\\"...\\"}"`, what a
// logged error body or a quoted message looks like).
const PAIR_JSON_ESCAPED = new RegExp(
  `(\\\\+")((?:${NAME_ALT})\\\\+"\\s*:\\s*\\\\+")((?:(?!\\\\+").)*)(\\\\+")`,
  'gi',
);
// `Name: value` as a header line or in a message (up to the end of the line, comma or semicolon).
const PAIR_COLON = new RegExp(
  `(^|[\\s,;{(\\[])((?:${NAME_ALT}):[ \\t]*)(?!["'\\s])([^\\s,;)\\]}]+(?:[ \\t]+[^\\s,;)\\]}]+)?)`,
  'gim',
);
// `Bearer <token>` wherever it appears; `Basic <credentials>` / `Token <token>` only when the value looks
// like a credential (a digit or base64 punctuation, or 20+ characters), so "basic authentication
// failed" or "token expired" stay readable.
const SCHEME = /\b(bearer|basic|token)([ \t]+)([A-Za-z0-9._~+/=-]{4,})/gi;
const looksLikeCredential = (scheme: string, value: string): boolean =>
  scheme.toLowerCase() === 'bearer' || /[0-9+/=]/.test(value) || value.length >= 20;
// `scheme://user:password@host` and `scheme://token@host`.
const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s?#]+@/gi;

function maskColon(_m: string, pre: string, name: string, value: string): string {
  // "Authorization: Bearer abc" keeps the scheme word so the reader sees the kind of credential.
  const scheme = /^(bearer|basic|token)[ \t]+/i.exec(value);
  return `${pre}${name}${scheme ? scheme[0] : ''}${REDACTED}`;
}

/**
 * Masks secrets by name and shape in free text: URLs and query strings (`?apikey=...`,
 * `&access_token=...`), header lines (`Authorization: Bearer ...`, `X-Api-Key: ...`), JSON bodies
 * (`"password":"..."`), `Bearer`/`Basic` credentials and URL user-info. `secrets` are known secret
 * values (configured API keys) masked wherever they occur; values shorter than 4 characters are ignored.
 */
export function redactText(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = redactSecrets(text, secrets);
  out = out.replace(
    PAIR_JSON,
    (_m, q: string, name: string, vq: string) => `${q}${name}${vq}${REDACTED}${vq}`,
  );
  out = out.replace(
    PAIR_JSON_ESCAPED,
    (_m, q: string, name: string, _v: string, end: string) => `${q}${name}${REDACTED}${end}`,
  );
  out = out.replace(PAIR_EQ, (_m, pre: string, name: string) => `${pre}${name}${REDACTED}`);
  out = out.replace(PAIR_COLON, maskColon);
  out = out.replace(SCHEME, (m, scheme: string, space: string, value: string) =>
    looksLikeCredential(scheme, value) ? `${scheme}${space}${REDACTED}` : m,
  );
  out = out.replace(USERINFO, `$1${REDACTED}@`);
  return out;
}

/**
 * Replaces secret query values in a URL (absolute or path-only) by `***`, and its user-info. Used for
 * every URL that can end up in an error message, a log line or a metric label.
 */
export function redactUrl(url: string): string {
  return url
    .replace(/([?&;])([^=&#;]+)=([^&#;]*)/g, (match, sep: string, name: string) => {
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // keep the raw name
      }
      return isSecretName(decoded) ? `${sep}${name}=${REDACTED}` : match;
    })
    .replace(USERINFO, `$1${REDACTED}@`);
}

/** Removes every occurrence of the given secret values from a free text (e.g. a provider's error body). */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  // Longest first, so a secret that contains another is replaced whole.
  const values = [
    ...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4)),
  ].sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of values) out = out.split(secret).join(REDACTED);
  return out;
}

/** A copy of HTTP headers (a plain object or a `Headers`) with every secret-named header's value masked. */
export function redactHeaders(
  headers:
    Readonly<Record<string, string | readonly string[] | number | undefined>> | Iterable<[string, string]>,
  secrets: readonly (string | undefined)[] = [],
): Record<string, string> {
  const out: Record<string, string> = {};
  const entries: Iterable<[string, string | readonly string[] | number | undefined]> =
    Symbol.iterator in headers ? headers : Object.entries(headers);
  for (const [name, value] of entries) {
    if (value === undefined) continue;
    const text = typeof value === 'string' || typeof value === 'number' ? String(value) : value.join(', ');
    out[name] = isSecretName(name) ? REDACTED : redactText(text, secrets);
  }
  return out;
}

/**
 * A deep copy of any value (log meta, a parsed JSON body, an error with its cause) with secrets masked:
 * secret-named keys get {@link REDACTED} whatever their value, every string goes through
 * {@link redactText}; errors become plain objects (name, message, stack, own fields, cause). Cycles
 * become `[circular]`; nesting deeper than 8 levels is kept as is.
 */
export function redactValue(value: unknown, secrets: readonly (string | undefined)[] = []): unknown {
  const walk = (v: unknown, depth: number, seen: WeakSet<object>): unknown => {
    if (typeof v === 'string') return redactText(v, secrets);
    if (typeof v !== 'object' || v === null || depth > 8) return v;
    if (seen.has(v)) return '[circular]';
    seen.add(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1, seen));
    const out: Record<string, unknown> = {};
    if (v instanceof Error) {
      out.name = v.name;
      out.message = redactText(v.message, secrets);
      if (v.stack) out.stack = redactText(v.stack, secrets);
    }
    for (const [k, x] of Object.entries(v))
      out[k] = isSecretName(k) && x != null ? REDACTED : walk(x, depth + 1, seen);
    if (v instanceof Error && v.cause !== undefined) out.cause = walk(v.cause, depth + 1, seen);
    return out;
  };
  return walk(value, 0, new WeakSet());
}

/** A {@link redactValue} bound to the configured secret values (the sidecar logger's redactor). */
export function createRedactor(secrets: readonly (string | undefined)[]): (value: unknown) => unknown {
  const fixed = [...secrets];
  return (value) => redactValue(value, fixed);
}

/** True when {@link redactText} would change `text` (for callers that must drop, not mask, e.g. metric labels). */
export function containsSecret(text: string, secrets: readonly (string | undefined)[] = []): boolean {
  return redactText(text, secrets) !== text;
}
