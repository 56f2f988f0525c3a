import {
  REDACTED,
  containsSecret,
  createRedactor,
  isSecretName,
  redactHeaders,
  redactSecrets,
  redactText,
  redactUrl,
  redactValue,
} from './redact';

const SECRET = 'S3cr3tV4lue9x';
/** Every spelling of a secret name the providers, brokers and our own config use. */
export const SECRET_SPELLINGS = [
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
] as const;

/** The shapes a secret arrives in, each rendering `name` = SECRET. */
const SHAPES: Record<string, (name: string) => string> = {
  'absolute URL': (n) => `https://api.example.com/v1/q?symbol=IBM&${n}=${SECRET}&interval=1min`,
  'path URL, first parameter': (n) => `/v2/aggs?${n}=${SECRET}`,
  'query string alone': (n) => `symbol=IBM&${n}=${SECRET}`,
  'error message': (n) => `GET https://x.io/q?${n}=${SECRET} failed: ECONNRESET`,
  'header line': (n) => `${n}: ${SECRET}`,
  'JSON body': (n) => JSON.stringify({ status: 'error', [n]: SECRET, note: 'x' }),
  'JSON body, spaced': (n) => `{ "${n}" : "${SECRET}" }`,
  'JSON encoded twice (a quoted body)': (n) => JSON.stringify(JSON.stringify({ [n]: SECRET, other: 1 })),
};

describe('redactText masks every spelling in every shape', () => {
  for (const [shape, render] of Object.entries(SHAPES)) {
    it.each(SECRET_SPELLINGS)(`${shape}: %s`, (name) => {
      const out = redactText(render(name));
      expect(out).not.toContain(SECRET);
      expect(out).toContain(REDACTED);
      expect(out).toContain(name); // the name stays: a reader sees which credential was involved
    });
  }

  it('masks Authorization headers, bearer tokens and URL user-info', () => {
    for (const text of [
      `Authorization: Bearer ${SECRET}`,
      `authorization: Basic ${Buffer.from(`u:${SECRET}`).toString('base64')}`,
      `request failed (bearer ${SECRET})`,
      `x-api-key: ${SECRET}`,
      `Proxy-Authorization: ${SECRET}`,
      `redis://user:${SECRET}@cache.local:6379/0`,
      `postgres://${SECRET}@db/x`,
    ]) {
      const out = redactText(text);
      expect(out).not.toContain(SECRET);
      expect(out).not.toContain(Buffer.from(`u:${SECRET}`).toString('base64'));
    }
    expect(redactText(`Authorization: Bearer ${SECRET}`)).toBe('Authorization: Bearer ***');
  });

  it('masks known secret values anywhere, longest first, and keeps harmless text', () => {
    expect(redactText(`the key ${SECRET} and ${SECRET}abc`, [SECRET, `${SECRET}abc`, 'ab', undefined])).toBe(
      'the key *** and ***',
    );
    for (const harmless of [
      'basic authentication failed',
      'token expired',
      'GET /v8/finance/chart/AAPL?interval=1m&range=1d 503',
      'rate limited: 5 calls per minute',
      '{"symbol":"EURUSD","close":1.0833}',
    ]) {
      expect(redactText(harmless)).toBe(harmless);
      expect(containsSecret(harmless)).toBe(false);
    }
    expect(containsSecret(`?apikey=${SECRET}`)).toBe(true);
    expect(containsSecret(`plain ${SECRET}`, [SECRET])).toBe(true);
  });
});

describe('redactUrl, redactSecrets, redactHeaders, redactValue', () => {
  it('redactUrl masks secret parameters by name only (fetchers behaviour kept)', () => {
    expect(redactUrl('https://x.io/q?function=A&apikey=abc&symbol=IBM')).toBe(
      'https://x.io/q?function=A&apikey=***&symbol=IBM',
    );
    expect(redactUrl('/v2/aggs?apiKey=abc')).toBe('/v2/aggs?apiKey=***');
    expect(redactUrl('/x?api_token=1&token=2&access_token=3&key=4&password=5')).toBe(
      '/x?api_token=***&token=***&access_token=***&key=***&password=***',
    );
    expect(redactUrl('/x?api%5Fkey=1&monkey=2')).toBe('/x?api%5Fkey=***&monkey=2');
  });

  it('redactSecrets replaces values only', () => {
    expect(redactSecrets(`body: invalid key ${SECRET}`, [SECRET])).toBe('body: invalid key ***');
  });

  it('redactHeaders masks secret-named headers of objects and Headers', () => {
    expect(
      redactHeaders({ Authorization: `Bearer ${SECRET}`, 'X-Api-Key': SECRET, Accept: 'application/json' }),
    ).toEqual({ Authorization: '***', 'X-Api-Key': '***', Accept: 'application/json' });
    const h = new Headers({ cookie: `sid=${SECRET}`, 'content-type': 'text/plain' });
    expect(redactHeaders(h)).toEqual({ cookie: '***', 'content-type': 'text/plain' });
  });

  it('redactValue deep-copies objects, arrays and errors with secrets masked', () => {
    const cause = new Error(`upstream said apikey=${SECRET}`);
    const err = Object.assign(new Error(`GET /q?token=${SECRET}`, { cause }), {
      apiKey: SECRET,
      status: 401,
    });
    const input = {
      url: `https://x.io/?access_token=${SECRET}`,
      headers: { authorization: `Bearer ${SECRET}` },
      list: [{ password: SECRET }, `Bearer ${SECRET}`],
      err,
      n: 1,
      nothing: null,
    };
    const out = redactValue(input);
    expect(JSON.stringify(out)).not.toContain(SECRET);
    expect(out).toMatchObject({
      n: 1,
      nothing: null,
      headers: { authorization: '***' },
      err: { status: 401 },
    });
    expect(JSON.stringify(input)).toContain(SECRET); // the input is not changed
    const cyclic: Record<string, unknown> = { token: SECRET };
    cyclic.self = cyclic;
    expect(redactValue(cyclic)).toEqual({ token: '***', self: '[circular]' });
    expect(createRedactor([SECRET])(`value ${SECRET}`)).toBe('value ***');
  });

  it('recognises secret names in every spelling', () => {
    for (const name of [...SECRET_SPELLINGS, 'Authorization', 'X-API-KEY', 'Set-Cookie']) {
      expect(isSecretName(name)).toBe(true);
    }
    for (const name of ['symbol', 'interval', 'monkey', 'tokens']) expect(isSecretName(name)).toBe(false);
  });
});
