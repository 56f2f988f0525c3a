// The secret corpus of the redaction tests (issue 11): one list of the spellings a secret's name takes
// (providers, brokers and our own config), so that every package's test feeds the same names through
// its own paths. @pipeline/core's redact.test.ts keeps its own copy: core cannot depend on test-utils.

/** A value that must never appear in a log, an error, a metric or a saved state. */
export const TEST_SECRET = 'S3cr3tV4lue9x';

/** Every spelling of a secret's name the providers, brokers and our own config use. */
export const SECRET_SPELLINGS = Object.freeze([
  'apikey',
  'api_key',
  'apiKey',
  'API_KEY',
  'api-key',
  'token',
  'access_token',
  'accessToken',
  'key',
  'password',
  'secret',
  'client_secret',
  'api_token',
] as const);
