import { malformedCorpus } from './index';
import { readFixture } from './paths';

describe('malformed corpus', () => {
  const corpus = malformedCorpus();

  it('has at least 30 distinct payloads over all four providers', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(30);
    expect(new Set(corpus.map((c) => c.id)).size).toBe(corpus.length);
    expect(new Set(corpus.map((c) => c.provider))).toEqual(
      new Set(['yahoo', 'alphavantage', 'twelvedata', 'polygon']),
    );
  });

  it.each(corpus.map((c) => [c.id, c] as const))('%s differs from the recording it damages', (_id, c) => {
    expect(String(c.reply.body)).not.toBe(readFixture(c.base));
  });
});
