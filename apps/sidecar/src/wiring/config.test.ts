import { isSidecarError, SIDECAR_ERROR_CODES, type ConfigError } from '../errors';
import { configSecrets, loadConfig } from './config';

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const c = loadConfig({});
    expect(c.symbols).toEqual(['EURUSD', 'XAUUSD', 'NAS100']);
    expect(c.sources).toEqual(['yahoo', 'alphavantage', 'twelvedata', 'polygon']);
    // Keyed sources without keys drop out of the fallback order, with a note for the start-up log.
    expect(c.activeSources).toEqual(['yahoo']);
    expect(c.notes).toHaveLength(3);
    expect(c.timeframe).toBe('1m');
    expect(c.collectionIntervalMs).toBe(1000);
    expect(c.maxBarsCache).toBe(5000);
    expect(c.batchWriteIntervalMs).toBe(10_000);
    expect(c.featureCacheTtlMs).toBe(2000);
    expect(c.staleAfterMs).toBe(10_000);
    expect(c.bootstrapDays).toBe(90);
    expect(c.redisUrl).toBeUndefined();
    expect(c.redisPoolSize).toBe(1);
    expect(c.httpPoolSize).toBe(10);
    expect(c.sqlitePath).toBe('./data/pipeline.db');
    expect(c.port).toBe(8000);
    expect(c.host).toBe('127.0.0.1');
    expect(c.apiToken).toBeUndefined();
    expect(c.logLevel).toBe('info');
    expect(c.idleGc).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('IDLE_GC: on or off (any case), anything else named in the error', () => {
    expect(loadConfig({ IDLE_GC: 'off' }).idleGc).toBe(false);
    expect(loadConfig({ IDLE_GC: ' OFF ' }).idleGc).toBe(false);
    expect(loadConfig({ IDLE_GC: 'on' }).idleGc).toBe(true);
    expect(() => loadConfig({ IDLE_GC: 'false' })).toThrow(/IDLE_GC.*"?false"?.*on .*or off/s);
  });

  it('parses lists, numbers and keys; empty strings count as unset', () => {
    const c = loadConfig({
      SYMBOLS: ' eurusd, AAPL ,EURUSD',
      SOURCES: 'polygon,yahoo',
      POLYGON_API_KEY: 'pk_123456',
      COLLECTION_INTERVAL: '0.5',
      REDIS_URL: 'redis://127.0.0.1:6379/2',
      REDIS_POOL_SIZE: '64',
      PORT: '',
    });
    expect(c.symbols).toEqual(['EURUSD', 'AAPL']);
    expect(c.activeSources).toEqual(['polygon', 'yahoo']);
    expect(c.collectionIntervalMs).toBe(500);
    expect(c.redisPoolSize).toBe(64);
    expect(c.port).toBe(8000);
    expect(configSecrets(c)).toEqual(['pk_123456']);
  });

  it('reports every bad variable at once, one line each, naming value and what is allowed', () => {
    let error: unknown;
    try {
      loadConfig({
        TIMEFRAME: '2m',
        REDIS_POOL_SIZE: '65',
        SOURCES: 'yahoo,bloomberg',
        PORT: 'eighty',
        REDIS_URL: 'http://x',
        API_TOKEN: 'short',
      });
    } catch (e) {
      error = e;
    }
    expect(isSidecarError(error, SIDECAR_ERROR_CODES.CONFIG_INVALID)).toBe(true);
    const e = error as ConfigError;
    expect(e.issues.map((i) => i.variable).sort()).toEqual([
      'API_TOKEN',
      'PORT',
      'REDIS_POOL_SIZE',
      'REDIS_URL',
      'SOURCES',
      'TIMEFRAME',
    ]);
    const lines = e.message.split('\n');
    expect(lines).toHaveLength(6);
    expect(lines).toContain('invalid TIMEFRAME="2m": one of 1s, 1m, 5m, 15m, 30m, 1h, 4h, 1d');
    expect(lines).toContain('invalid REDIS_POOL_SIZE="65": an integer from 1 to 64');
    expect(e.message).toContain('SOURCES="yahoo,bloomberg"');
    // A secret's value never appears, even when it is the bad one.
    expect(e.message).toContain('API_TOKEN="***"');
    expect(e.message).not.toContain('short');
  });

  it('refuses a source list where no source can run', () => {
    expect(() => loadConfig({ SOURCES: 'polygon' })).toThrow(/SOURCES="polygon": at least one source/);
  });

  it('accepts a Redis pool size up to 64, and only 1 with a cluster', () => {
    expect(loadConfig({ REDIS_URL: 'redis://a:1', REDIS_POOL_SIZE: '4' }).redisPoolSize).toBe(4);
    expect(() => loadConfig({ REDIS_URL: 'redis://a:1', REDIS_POOL_SIZE: '65' })).toThrow(/REDIS_POOL_SIZE/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:7000,b:7001', REDIS_POOL_SIZE: '2' })).toThrow(
      /REDIS_POOL_SIZE.*1 with REDIS_CLUSTER_NODES/,
    );
  });

  it('refuses REDIS_URL together with REDIS_CLUSTER_NODES', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'a:7000,b:7001' })).toThrow(
      /REDIS_CLUSTER_NODES/,
    );
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'a:7000,b:7001' }).redisClusterNodes).toEqual([
      'a:7000',
      'b:7001',
    ]);
  });
});
