import { Writable } from 'node:stream';
import { createLogger, createRedactor } from './logger';
import { at } from '../../test/at';

function sink() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, stream };
}

describe('createRedactor', () => {
  it('replaces secret values, secret keys, apikey= and Bearer patterns, deeply', () => {
    const redact = createRedactor(['sk_live_abcdef']);
    const out = redact({
      url: 'https://x/q?symbol=EURUSD&apikey=ZZZ999&fmt=json',
      nested: { headers: { authorization: 'Bearer abc.def' }, note: 'key sk_live_abcdef leaked' },
      list: ['sk_live_abcdef'],
      apiKey: 'anything',
      err: new Error('GET /v2?apiKey=sk_live_abcdef failed'),
    }) as { url: string; nested: { note: string }; err: { message: string } };
    expect(JSON.stringify(out)).not.toMatch(/sk_live_abcdef|ZZZ999|abc\.def|anything/);
    expect(out.url).toBe('https://x/q?symbol=EURUSD&apikey=***&fmt=json');
    expect(out.nested.note).toBe('key *** leaked');
    expect(out.err.message).toBe('GET /v2?apiKey=*** failed');
  });
});

describe('createLogger', () => {
  it('writes JSON lines with secrets redacted in message and meta', () => {
    const { lines, stream } = sink();
    const log = createLogger({ format: 'json', stream, secrets: ['tok_0123456789abcdef'] });
    log.info('calling https://api/x?apikey=tok_0123456789abcdef', {
      token: 'tok_0123456789abcdef',
      symbol: 'EURUSD',
    });
    const rec = JSON.parse(at(lines, 0));
    expect(rec).toMatchObject({
      level: 'info',
      message: 'calling https://api/x?apikey=***',
      token: '***',
      symbol: 'EURUSD',
    });
    expect(typeof rec.timestamp).toBe('string');
  });

  it('writes readable lines in pretty mode and honours the level', () => {
    const { lines, stream } = sink();
    const log = createLogger({ format: 'pretty', level: 'warn', stream });
    log.info('hidden');
    log.warn('visible', { symbol: 'XAUUSD' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/warn.*visible \{"symbol":"XAUUSD"\}/);
    expect(() => JSON.parse(at(lines, 0))).toThrow();
  });
});
