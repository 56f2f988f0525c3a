/** Query parameter names whose values are secrets (compared case-insensitively). */
export const SECRET_QUERY_PARAMS = Object.freeze(['apikey', 'api_key', 'api_token', 'token', 'access_token']);

/**
 * Replaces secret query values in a URL (absolute or path-only) by `***`. Used for every URL that
 * can end up in an error message, a log line or a metric label.
 */
export function redactUrl(url: string): string {
  return url.replace(/([?&])([^=&#]+)=([^&#]*)/g, (match, sep: string, name: string) =>
    SECRET_QUERY_PARAMS.includes(decodeURIComponent(name).toLowerCase()) ? `${sep}${name}=***` : match,
  );
}

/** Removes every occurrence of the given secrets from a free text (e.g. a provider's error body). */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('***');
  }
  return out;
}
