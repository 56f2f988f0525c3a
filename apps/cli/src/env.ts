import { SOURCE_NAMES, isSourceName, type SourceName } from '@pipeline/core';

/** The environment variables of ARCHITECTURE.md that the CLI reads (keys and base URLs per source). */
export const KEY_VARS = {
  alphavantage: 'ALPHAVANTAGE_API_KEY',
  twelvedata: 'TWELVEDATA_API_KEY',
  polygon: 'POLYGON_API_KEY',
} as const satisfies Partial<Record<SourceName, string>>;

export const BASE_URL_VARS = {
  yahoo: 'YAHOO_BASE_URL',
  alphavantage: 'ALPHAVANTAGE_BASE_URL',
  twelvedata: 'TWELVEDATA_BASE_URL',
  polygon: 'POLYGON_BASE_URL',
} as const satisfies Partial<Record<SourceName, string>>;

export type Env = Readonly<Record<string, string | undefined>>;

/** Non-empty value of a variable, or undefined. */
export function envValue(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

export function apiKeysFromEnv(env: Env): Partial<Record<SourceName, string>> {
  const out: Partial<Record<SourceName, string>> = {};
  for (const [source, name] of Object.entries(KEY_VARS)) {
    const v = envValue(env, name);
    if (v) out[source as SourceName] = v;
  }
  return out;
}

export function baseUrlsFromEnv(env: Env): Partial<Record<SourceName, string>> {
  const out: Partial<Record<SourceName, string>> = {};
  for (const [source, name] of Object.entries(BASE_URL_VARS)) {
    const v = envValue(env, name);
    if (v) out[source as SourceName] = v;
  }
  return out;
}

/** Sources a download may use: every core source except `replay` (which needs a file of its own). */
export const DOWNLOAD_SOURCES = SOURCE_NAMES.filter((s) => s !== 'replay');

export { isSourceName };
