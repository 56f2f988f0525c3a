/**
 * Error messages of unknown errors may carry URLs with API keys or auth headers. Snapshots and
 * exported state only ever hold messages passed through here.
 */
const SECRET_PARAM =
  /([?&;,\s]|^)((?:api[_-]?key|apikey|access[_-]?token|token|secret|password|passwd|sig|signature|key|auth)=)[^&\s"'#]*/gi;
const BEARER = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi;

/** Maximum length kept of an error message. */
export const MAX_MESSAGE_LENGTH = 300;

export function redactMessage(message: string): string {
  const cleaned = message
    .replace(SECRET_PARAM, '$1$2[redacted]')
    .replace(BEARER, '$1 [redacted]')
    .replace(USERINFO, '$1[redacted]@');
  return cleaned.length > MAX_MESSAGE_LENGTH ? `${cleaned.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : cleaned;
}
