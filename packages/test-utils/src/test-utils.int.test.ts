import { Redis } from 'ioredis';
import {
  answersPing,
  deleteRedisPrefix,
  fixtureReply,
  startFixtureServer,
  startRedisServer,
  TEST_REDIS_URL,
  uniqueRedisPrefix,
} from './index';

describe('fixture server', () => {
  it('serves a recorded body with its recorded status and counts connections', async () => {
    const srv = await startFixtureServer(() => fixtureReply('polygon/error-429-too-many-requests.json'));
    try {
      const res = await fetch(`${srv.url}/v2/aggs?apiKey=x`);
      expect(res.status).toBe(429);
      expect(((await res.json()) as { status: string }).status).toBe('ERROR');
      expect(srv.requests[0]!.query.get('apiKey')).toBe('x');
    } finally {
      await srv.close();
    }
  });

  it('truncates a body mid-way', async () => {
    const srv = await startFixtureServer(() => ({ body: '{"a":[1,2,3,4,5,6,7,8]}', truncateAt: 5 }));
    try {
      await expect(fetch(srv.url).then((r) => r.text())).rejects.toThrow();
    } finally {
      await srv.close();
    }
  });
});

describe('redis helpers', () => {
  it('deletes only keys under its own prefix', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    const mine = uniqueRedisPrefix('tu');
    const other = uniqueRedisPrefix('tu-other');
    try {
      await redis.set(`${mine}a`, '1');
      await redis.set(`${mine}b`, '1');
      await redis.set(`${other}a`, '1');
      expect(await deleteRedisPrefix(redis, mine)).toBe(2);
      expect(await redis.exists(`${other}a`)).toBe(1);
    } finally {
      await deleteRedisPrefix(redis, other);
      redis.disconnect();
    }
  });

  it('starts, kills and restarts a private redis-server', async () => {
    const srv = await startRedisServer();
    try {
      const redis = new Redis(srv.url);
      expect(await redis.ping()).toBe('PONG');
      await redis.quit();
      await srv.kill();
      expect(await answersPing(srv.port)).toBe(false);
      await srv.restart();
      expect(await answersPing(srv.port)).toBe(true);
    } finally {
      await srv.stop();
    }
    expect(await answersPing(srv.port)).toBe(false);
  });
});
