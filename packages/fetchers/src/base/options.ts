import { OptionsError, type SourceName } from '@pipeline/core';
import { type HttpClient } from '../http/client';
import { type RateLimits } from '../rate/rate-budget';

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

/**
 * The aligned option names every HTTP provider takes (`latestLimit`, `rateLimits`) over the older
 * Twelve Data / Polygon spellings (`defaultLatestLimit`, `perMinute`, `perDay`), kept as deprecated
 * aliases: the new name wins, and giving both with different values is an error naming both.
 */
export function resolveAlignedNames(
  owner: string,
  given: {
    latestLimit?: number | undefined;
    defaultLatestLimit?: number | undefined;
    rateLimits?: Partial<RateLimits> | undefined;
    perMinute?: number | null | undefined;
    perDay?: number | null | undefined;
  },
  defaultLatestLimit: number,
): { latestLimit: number; rateLimits: Partial<RateLimits> } {
  const clash = (a: string, b: string, x: unknown, y: unknown): never => {
    throw new OptionsError(
      `${owner}: options "${a}" (${JSON.stringify(x)}) and its deprecated alias "${b}" (${JSON.stringify(y)}) disagree; give "${a}" only`,
    );
  };
  if (
    given.latestLimit !== undefined &&
    given.defaultLatestLimit !== undefined &&
    given.latestLimit !== given.defaultLatestLimit
  ) {
    clash('latestLimit', 'defaultLatestLimit', given.latestLimit, given.defaultLatestLimit);
  }
  const r = given.rateLimits ?? {};
  if (r.perMinute !== undefined && given.perMinute !== undefined && r.perMinute !== given.perMinute)
    clash('rateLimits.perMinute', 'perMinute', r.perMinute, given.perMinute);
  if (r.perDay !== undefined && given.perDay !== undefined && r.perDay !== given.perDay)
    clash('rateLimits.perDay', 'perDay', r.perDay, given.perDay);
  const rateLimits: Partial<RateLimits> = {};
  const perSecond = r.perSecond;
  const perMinute = r.perMinute !== undefined ? r.perMinute : given.perMinute;
  const perDay = r.perDay !== undefined ? r.perDay : given.perDay;
  if (perSecond !== undefined) rateLimits.perSecond = perSecond;
  if (perMinute !== undefined) rateLimits.perMinute = perMinute;
  if (perDay !== undefined) rateLimits.perDay = perDay;
  return {
    latestLimit: given.latestLimit ?? given.defaultLatestLimit ?? defaultLatestLimit,
    rateLimits,
  };
}
