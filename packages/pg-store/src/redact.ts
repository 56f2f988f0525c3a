/**
 * Connection strings carry passwords (`postgres://user:secret@host/db`); node-postgres errors and
 * socket errors can echo the host, a DSN or a `password=` fragment. Every message that leaves the store
 * (errors, health) passes through here.
 */
const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi;
const PASSWORD_PARAM = /(\bpassword\s*=\s*)('[^']*'|"[^"]*"|[^\s&]+)/gi;

/** Maximum length kept of a redacted message. */
export const MAX_MESSAGE_LENGTH = 300;

/** Removes user info from URLs, `password=` values and each of `secrets` (the configured password). */
export function redact(message: string, secrets: readonly (string | undefined)[] = []): string {
  let out = message.replace(USERINFO, '$1[redacted]@').replace(PASSWORD_PARAM, '$1[redacted]');
  for (const s of secrets) {
    if (s && s.length >= 3) out = out.split(s).join('[redacted]');
  }
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
