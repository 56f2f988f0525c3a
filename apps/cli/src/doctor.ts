import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isSourceName, isTimeframe, type SourceName } from '@pipeline/core';
import { Redis } from 'ioredis';
import pg from 'pg';
import Database from 'better-sqlite3';
import { buildFetcher } from './download';
import { KEY_VARS, envValue, type Env } from './env';
import { redactUrl } from './target';

export type CheckStatus = 'ok' | 'warn' | 'skip' | 'FAIL';

export interface CheckResult {
  check: string;
  status: CheckStatus;
  detail: string;
}

export interface DoctorOptions {
  env: Env;
  /** Symbol asked from each provider. @default the first of SYMBOLS, else EURUSD */
  symbol?: string;
  /** Per network check. @default 5000 */
  timeoutMs?: number;
}

const DEFAULT_SOURCES = 'yahoo,alphavantage,twelvedata,polygon';

/** Numeric variables of the sidecar (ARCHITECTURE.md) checked when set: name, min, max. */
const NUMERIC_VARS: readonly [string, number, number][] = [
  ['COLLECTION_INTERVAL', 0.001, 3600],
  ['MAX_BARS_CACHE', 1, 10_000_000],
  ['BATCH_WRITE_INTERVAL', 0.001, 3600],
  ['FEATURE_CACHE_TTL', 0, 3600],
  ['STALE_AFTER', 0.001, 86_400],
  ['BOOTSTRAP_DAYS', 0, 36_500],
  ['REDIS_POOL_SIZE', 1, 64],
  ['HTTP_POOL_SIZE', 1, 1024],
  ['LEASE_TTL', 0.001, 3600],
  ['PORT', 0, 65_535],
];

/**
 * Checks a sidecar/CLI setup from its environment: the configuration values, the provider keys,
 * Redis, SQLite and PostgreSQL reachability, and every configured provider with one cheap request
 * (the latest daily bar of one symbol). Secrets are never printed.
 */
export async function runDoctor(o: DoctorOptions): Promise<CheckResult[]> {
  const env = o.env;
  const timeoutMs = o.timeoutMs ?? 5_000;
  const results: CheckResult[] = [];
  const add = (check: string, status: CheckStatus, detail: string) => results.push({ check, status, detail });

  // Configuration
  const symbols = (envValue(env, 'SYMBOLS') ?? 'EURUSD,XAUUSD,NAS100')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  add(
    'config SYMBOLS',
    symbols.length > 0 ? 'ok' : 'FAIL',
    symbols.length > 0 ? symbols.join(',') : 'empty list',
  );
  const sourceNames = (envValue(env, 'SOURCES') ?? DEFAULT_SOURCES)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const badSources = sourceNames.filter((s) => !isSourceName(s));
  add(
    'config SOURCES',
    badSources.length === 0 && sourceNames.length > 0 ? 'ok' : 'FAIL',
    badSources.length > 0 ? `unknown: ${badSources.join(', ')}` : sourceNames.join(','),
  );
  const tf = envValue(env, 'TIMEFRAME') ?? '1m';
  add(
    'config TIMEFRAME',
    isTimeframe(tf) ? 'ok' : 'FAIL',
    isTimeframe(tf) ? tf : `"${tf}" is not one of 1s,1m,5m,15m,30m,1h,4h,1d`,
  );
  const sources = sourceNames.filter(isSourceName);
  for (const [name, min, max] of NUMERIC_VARS) {
    const raw = envValue(env, name);
    if (raw === undefined) continue;
    const n = Number(raw);
    const good = Number.isFinite(n) && n >= min && n <= max;
    add(`config ${name}`, good ? 'ok' : 'FAIL', good ? raw : `"${raw}" is not a number in [${min}, ${max}]`);
  }
  const redisVar = envValue(env, 'REDIS_URL');
  if (redisVar !== undefined && !/^rediss?:\/\//.test(redisVar)) {
    add('config REDIS_URL', 'FAIL', `"${redactUrl(redisVar)}" must start with redis:// or rediss://`);
  }
  const historyVar = envValue(env, 'HISTORY_URL');
  if (historyVar !== undefined && !/^postgres(ql)?:\/\//.test(historyVar)) {
    add('config HISTORY_URL', 'FAIL', `"${redactUrl(historyVar)}" must start with postgres://`);
  }

  // Keys
  for (const s of sources) {
    const keyVar = (KEY_VARS as Partial<Record<SourceName, string>>)[s];
    if (!keyVar) continue;
    if (envValue(env, keyVar)) add(`key ${keyVar}`, 'ok', 'set');
    else add(`key ${keyVar}`, 'warn', `not set: ${s} is skipped`);
  }

  // Redis
  const redisUrl = envValue(env, 'REDIS_URL');
  if (!redisUrl) add('redis', 'skip', 'REDIS_URL not set (in-process cache)');
  else add('redis', ...(await checkRedis(redisUrl, timeoutMs)));

  // History: PostgreSQL when HISTORY_URL is set, else SQLite
  const historyUrl = envValue(env, 'HISTORY_URL');
  if (historyUrl) {
    add('postgres', ...(await checkPostgres(historyUrl, timeoutMs)));
    add('sqlite', 'skip', 'HISTORY_URL is set: history is in PostgreSQL');
  } else {
    add('postgres', 'skip', 'HISTORY_URL not set');
    add('sqlite', ...checkSqlite(envValue(env, 'SQLITE_PATH') ?? './data/pipeline.db'));
  }

  // Providers
  const symbol = o.symbol ?? symbols[0] ?? 'EURUSD';
  for (const s of sources) {
    if (s === 'replay') {
      add(`provider ${s}`, 'skip', 'reads a file, nothing to reach');
      continue;
    }
    const keyVar = (KEY_VARS as Partial<Record<SourceName, string>>)[s];
    if (keyVar && !envValue(env, keyVar)) {
      add(`provider ${s}`, 'skip', `no ${keyVar}`);
      continue;
    }
    add(`provider ${s}`, ...(await checkProvider(s, env, symbol, timeoutMs)));
  }
  return results;
}

type Verdict = [CheckStatus, string];

async function checkRedis(url: string, timeoutMs: number): Promise<Verdict> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  let lastError: unknown;
  client.on('error', (err) => (lastError ??= err)); // the cause; the rejection only says the connection closed
  const t0 = performance.now();
  try {
    await client.connect();
    const pong = await client.ping();
    const info = await client.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
    return [
      'ok',
      `${redactUrl(url)}: ${pong} in ${(performance.now() - t0).toFixed(1)} ms, Redis ${version}`,
    ];
  } catch (err) {
    return ['FAIL', `${redactUrl(url)}: ${messageOf(lastError ?? err)}`];
  } finally {
    client.disconnect();
  }
}

async function checkPostgres(url: string, timeoutMs: number): Promise<Verdict> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
  });
  client.on('error', () => {});
  const t0 = performance.now();
  try {
    await client.connect();
    const r = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return [
      'ok',
      `${redactUrl(url)}: connected in ${(performance.now() - t0).toFixed(1)} ms, PostgreSQL ${r.rows[0]?.v ?? '?'}`,
    ];
  } catch (err) {
    return ['FAIL', `${redactUrl(url)}: ${messageOf(err).replace(url, redactUrl(url))}`];
  } finally {
    await client.end().catch(() => {});
  }
}

function checkSqlite(path: string): Verdict {
  const file = resolve(path);
  if (!existsSync(file)) {
    let dir = dirname(file);
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    try {
      accessSync(dir, constants.W_OK);
      return ['ok', `${file} does not exist yet; ${dir} is writable, it will be created`];
    } catch {
      return ['FAIL', `${file} does not exist and ${dir} is not writable`];
    }
  }
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const version = db.pragma('user_version', { simple: true }) as number;
      const hasBars = db
        .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'bars'")
        .get() as { n: number };
      const series = hasBars.n
        ? (db.prepare('SELECT count(*) AS n FROM series').get() as { n: number }).n
        : 0;
      accessSync(file, constants.W_OK);
      return ['ok', `${file}: schema version ${version}, ${series} series`];
    } finally {
      db.close();
    }
  } catch (err) {
    return ['FAIL', `${file}: ${messageOf(err)}`];
  }
}

async function checkProvider(
  source: SourceName,
  env: Env,
  symbol: string,
  timeoutMs: number,
): Promise<Verdict> {
  let fetcher;
  try {
    fetcher = buildFetcher(source, env);
  } catch (err) {
    return ['FAIL', messageOf(err)];
  }
  const t0 = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const bars = await fetcher.fetchLatest({ symbol, timeframe: '1d', limit: 1, signal });
    const last = bars.at(-1);
    return [
      'ok',
      `${symbol} 1d: ${bars.length} bar(s)${last ? `, last ${new Date(last.ts).toISOString().slice(0, 10)} close ${last.close}` : ''} in ${(performance.now() - t0).toFixed(0)} ms`,
    ];
  } catch (err) {
    return ['FAIL', `${symbol} 1d: ${messageOf(err)}`];
  } finally {
    await fetcher.close();
  }
}

function messageOf(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown };
    const msg = typeof e.message === 'string' && e.message ? e.message : JSON.stringify(err);
    return typeof e.code === 'string' && !msg.includes(e.code) ? `${e.code}: ${msg}` : msg;
  }
  return String(err);
}

/** The results as a plain-text table (check, status, detail). */
export function formatTable(rows: readonly CheckResult[]): string {
  const head: CheckResult = { check: 'CHECK', status: 'ok', detail: 'DETAIL' };
  const w1 = Math.max(...[head, ...rows].map((r) => r.check.length));
  const w2 = 6;
  const line = (a: string, b: string, c: string) => `${a.padEnd(w1)}  ${b.padEnd(w2)}  ${c}`;
  return [
    line('CHECK', 'STATUS', 'DETAIL'),
    line('-'.repeat(w1), '-'.repeat(w2), '-'.repeat(6)),
    ...rows.map((r) => line(r.check, r.status, r.detail)),
  ].join('\n');
}
