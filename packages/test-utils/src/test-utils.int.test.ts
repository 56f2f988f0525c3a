import { Redis } from 'ioredis';
import { deleteRedisPrefix, fixtureReply, startFixtureServer, startRedisServer, TEST_REDIS_URL, uniqueRedisPrefix } from './index';

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
    const redis = new Redis(srv.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      expect(await redis.ping()).toBe('PONG');
      await srv.kill();
      await expect(redis.ping()).rejects.toThrow();
      await srv.restart();
    } finally {
      redis.disconnect();
      await srv.stop();
    }
  });
});
