import { SIDECAR_ERROR_CODES } from '../errors';

/** HTTP error codes of the API, as sent in `{ error: { code, message } }`. */
export const API_ERROR_CODES = {
  unauthorized: 'UNAUTHORIZED',
  badRequest: 'BAD_REQUEST',
  notFound: 'NOT_FOUND',
  unknownSymbol: SIDECAR_ERROR_CODES.UNKNOWN_SYMBOL,
  internal: 'INTERNAL',
} as const;

/** The body of every error answer: `{ error: { code, message } }` (plus suggestions for an unknown symbol). */
export function errorBody(
  code: string,
  message: string,
  extra: { suggestions?: readonly string[] } = {},
): { error: { code: string; message: string; suggestions?: string[] } } {
  return {
    error: { code, message, ...(extra.suggestions ? { suggestions: [...extra.suggestions] } : {}) },
  };
}
