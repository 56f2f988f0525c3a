import { OptionsError, type SourceName } from '@pipeline/core';
import { type HttpClient } from '../http/client';

// Checks of the options every HTTP provider fetcher has; `owner` is the factory or class named in
// the message, so that a bad value points at the call that passed it.

/** `apiKey` must be a non-empty string; `hint` (e.g. where to get one) is appended to the message. */
export function assertApiKeyOption(owner: string, apiKey: unknown, hint?: string): void {
  if (typeof apiKey !== 'string' || apiKey.trim() === '') {
    throw new OptionsError(
      `${owner}: option "apiKey" must be a non-empty string${hint === undefined ? '' : ` (${hint})`}`,
    );
  }
}

/** `baseUrl` must be an http(s) URL (a provider's origin, a mirror or a test server). */
export function assertBaseUrlOption(owner: string, baseUrl: unknown): void {
  if (typeof baseUrl !== 'string' || !/^https?:\/\//.test(baseUrl)) {
    throw new OptionsError(
      `${owner}: option "baseUrl" must be an http(s) URL, got ${JSON.stringify(baseUrl)}`,
    );
  }
}

/** A boolean option. */
export function assertBooleanOption(owner: string, name: string, value: unknown): void {
  if (typeof value !== 'boolean') {
    throw new OptionsError(`${owner}: option "${name}" must be a boolean, got ${JSON.stringify(value)}`);
  }
}

/** A shared client must have been created for the same source: its `source` names it in every error. */
export function assertHttpSourceOption(
  owner: string,
  http: HttpClient | undefined,
  source: SourceName,
): void {
  if (http !== undefined && http.source !== source) {
    throw new OptionsError(
      `${owner}: option "http" must be a client created with source "${source}", got one for ${JSON.stringify(http.source)}`,
    );
  }
}
