import { existsSync, rmSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import {
  TIMEFRAME_MS,
  alignTs,
  isFetchError,
  systemClock,
  type Bar,
  type Clock,
  type Fetcher,
  type HistoryStore,
  type SourceName,
  type Timeframe,
} from '@pipeline/core';
import { createFetchers, createSyntheticFetcher } from '@pipeline/fetchers';
import { createValidator } from '@pipeline/validator';
import { CLI_ERROR_CODES, CliError } from './errors';
import { KEY_VARS, apiKeysFromEnv, baseUrlsFromEnv, type Env } from './env';
import { describeTarget, openStore, type Target } from './target';
import { writeCsv, writeParquet } from './writers';
import { storePages } from './pages';

export interface DownloadOptions {
  /** Generic symbols, e.g. `['EURUSD', 'AAPL']`. */
  symbols: readonly string[];
  timeframe: Timeframe;
  /** First bar open time wanted, epoch ms (inclusive). */
  from: number;
  /** Epoch ms (exclusive). Only final bars are kept: the bar still forming at `to` is left out. */
  to: number;
  source: SourceName;
  out: Target;
  /** Replace an existing CSV/Parquet file that no earlier run left unfinished. @default false */
  force?: boolean;
  /** Where keys (`ALPHAVANTAGE_API_KEY`, ...) and base URLs (`YAHOO_BASE_URL`, ...) come from. */
  env: Env;
  /** Progress bar on `stderr` (only drawn on a terminal). @default true */
  progress?: boolean;
  /** Retries of a retryable failure (timeout, 5xx, malformed body) per request. @default 3 */
  retries?: number;
  /** Longest rate-limit wait (ms) the download sits through before giving up on a series. @default 900000 */
  maxRateWaitMs?: number;
  /** Bars per request at most (the source's own per-request limit still applies). @default 10000 */
  maxBarsPerRequest?: number;
  clock?: Clock;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface SeriesReport {
  symbol: string;
  /** Bars written by this run. */
  written: number;
  rejected: number;
  repaired: number;
  requests: number;
  /** Where this run started (after what was already stored), epoch ms. */
  resumedFrom: number;
  error?: string;
}

export interface DownloadReport {
  series: SeriesReport[];
  /** Rows in the CSV/Parquet file (file targets only). */
  fileRows?: number;
}

/** A staging SQLite file beside a CSV/Parquet target: what makes a file download resumable. */
export const stagingPath = (path: string) => `${path}.partial.db`;

/**
 * Downloads history into a target. Resumable: every series continues after the newest bar the target
 * store (or, for files, the staging SQLite file beside it) already holds, so a rerun after a crash or a
 * kill fetches only what is missing and writes no bar twice. Requests follow the source's limits: the
 * range is split by its per-request maximum, its rate budget refuses requests it may not send, and a
 * refusal (local budget or the provider's 429) is waited out for as long as it says.
 */
export async function runDownload(o: DownloadOptions): Promise<DownloadReport> {
  const clock = o.clock ?? systemClock;
  const tfMs = TIMEFRAME_MS[o.timeframe];
  const fetcher = buildFetcher(o.source, o.env);
  const file = o.out.kind === 'csv' || o.out.kind === 'parquet' ? o.out : undefined;
  if (file && existsSync(file.path) && !existsSync(stagingPath(file.path))) {
    if (!o.force) {
      await fetcher.close();
      throw new CliError(
        CLI_ERROR_CODES.OUT_EXISTS,
        `${file.path} exists and no unfinished download of it was found; pass --force to replace it`,
      );
    }
  }
  let store: HistoryStore;
  try {
    store = await openStore(
      file
        ? { kind: 'sqlite', path: stagingPath(file.path) }
        : (o.out as Extract<Target, { kind: 'sqlite' | 'postgres' }>),
    );
  } catch (err) {
    await fetcher.close();
    throw err;
  }
  const validator = createValidator({ clock });
  const reports: SeriesReport[] = [];
  const log = (line: string) => o.stderr.write(line + '\n');
  try {
    // Where each series resumes, then the plan of requests (for the progress bar).
    const now = clock.now();
    const depth = fetcher.capabilities.historyDepthMs[o.timeframe];
    let from = alignTs(o.from, o.timeframe);
    if (depth !== undefined && from < now - depth) {
      const clipped = alignTs(now - depth, o.timeframe) + tfMs;
      log(
        `${o.source} keeps ${o.timeframe} bars for ${Math.round(depth / 86_400_000)} days: starting at ${iso(clipped)}`,
      );
      from = clipped;
    }
    const to = Math.min(o.to, alignTs(now, o.timeframe)); // the forming bar is not history yet
    const windowMs = requestWindowMs(fetcher, o.timeframe, o.maxBarsPerRequest ?? 10_000);
    const plans: { symbol: string; start: number; windows: [number, number][] }[] = [];
    for (const symbol of o.symbols) {
      const last = (await store.latest(symbol, o.timeframe, 1))[0];
      const start = last && last.ts >= from ? last.ts + tfMs : from;
      const windows: [number, number][] = [];
      for (let a = start; a < to; a += windowMs) windows.push([a, Math.min(a + windowMs, to)]);
      plans.push({ symbol, start, windows });
      if (last && last.ts >= from) log(`${symbol} ${o.timeframe}: resuming after ${iso(last.ts)}`);
    }
    const total = plans.reduce((n, p) => n + p.windows.length, 0);
    const bar =
      o.progress !== false && o.stderr.isTTY
        ? new SingleBar({
            stream: o.stderr,
            format:
              ' {bar} {percentage}% | {value}/{total} requests | {symbol} | {bars} bars | ETA {eta_formatted}',
            hideCursor: true,
          })
        : undefined;
    bar?.start(total, 0, { symbol: '', bars: 0 });
    let barsSoFar = 0;
    for (const plan of plans) {
      const rep: SeriesReport = {
        symbol: plan.symbol,
        written: 0,
        rejected: 0,
        repaired: 0,
        requests: 0,
        resumedFrom: plan.start,
      };
      reports.push(rep);
      try {
        for (const [a, b] of plan.windows) {
          const raw = await fetchWindow(
            fetcher,
            { symbol: plan.symbol, timeframe: o.timeframe, from: a, to: b },
            o,
            clock,
            (msg) => {
              if (bar) bar.update({ symbol: `${plan.symbol} (${msg})` });
              else log(`${plan.symbol}: ${msg}`);
            },
          );
          rep.requests++;
          const kept: Bar[] = [];
          for (const x of raw) {
            if (!x.final || x.ts < a || x.ts >= b) continue;
            const v = validator.validate(x);
            if (v.status === 'rejected') rep.rejected++;
            else {
              if (v.status === 'repaired') rep.repaired++;
              kept.push(v.bar);
            }
          }
          if (kept.length > 0) rep.written += await store.backfill(kept);
          barsSoFar += kept.length;
          bar?.increment(1, { symbol: plan.symbol, bars: barsSoFar });
        }
      } catch (err) {
        rep.error = errorText(err);
        bar?.increment(plan.windows.length - rep.requests);
      }
    }
    bar?.stop();
    for (const r of reports) {
      o.stdout.write(
        `${r.symbol} ${o.timeframe} ${o.source}: ${r.written} bars written, ${r.requests} requests` +
          (r.rejected ? `, ${r.rejected} rejected by the validator` : '') +
          (r.repaired ? `, ${r.repaired} repaired` : '') +
          (r.error ? ` -- FAILED: ${r.error}` : '') +
          '\n',
      );
    }
    const failed = reports.filter((r) => r.error);
    if (failed.length > 0) {
      throw new CliError(
        CLI_ERROR_CODES.DOWNLOAD_INCOMPLETE,
        `${failed.length} of ${reports.length} series incomplete (${failed.map((r) => r.symbol).join(', ')}); what was fetched is kept, rerun the same command to resume`,
      );
    }
    const report: DownloadReport = { series: reports };
    if (file) {
      const pages = storePages(store, o.symbols, o.timeframe, from, to);
      report.fileRows =
        file.kind === 'csv' ? await writeCsv(file.path, pages) : await writeParquet(file.path, pages);
      await store.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(stagingPath(file.path) + suffix, { force: true });
      o.stdout.write(`wrote ${report.fileRows} bars to ${file.path}\n`);
    } else {
      o.stdout.write(
        `${reports.reduce((n, r) => n + r.written, 0)} bars written to ${describeTarget(o.out)}\n`,
      );
    }
    return report;
  } finally {
    if (!store.isClosed) await store.close();
    await fetcher.close();
  }
}

/** One request window: the source's widest range per request, at most `maxBars` bars, whole bars. */
function requestWindowMs(fetcher: Fetcher, timeframe: Timeframe, maxBars: number): number {
  const tfMs = TIMEFRAME_MS[timeframe];
  const caps = fetcher.capabilities;
  let bars = maxBars;
  if (caps.maxBarsPerRequest !== undefined) bars = Math.min(bars, caps.maxBarsPerRequest);
  const range = caps.maxRangeMsPerRequest[timeframe];
  if (range !== undefined) bars = Math.min(bars, Math.floor(range / tfMs));
  return Math.max(1, bars) * tfMs;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** fetchHistory with the source's limits respected: rate-limit waits, bounded retries of transient failures. */
async function fetchWindow(
  fetcher: Fetcher,
  req: { symbol: string; timeframe: Timeframe; from: number; to: number },
  o: DownloadOptions,
  clock: Clock,
  note: (msg: string) => void,
): Promise<Bar[]> {
  const retries = o.retries ?? 3;
  const maxWait = o.maxRateWaitMs ?? 900_000;
  for (let attempt = 0; ;) {
    try {
      return await fetcher.fetchHistory(req);
    } catch (err) {
      if (!isFetchError(err)) throw err;
      if (err.kind === 'rate_limited') {
        const wait = Math.max(err.retryAfterMs ?? 60_000, 250);
        if (wait > maxWait) {
          throw new CliError(
            CLI_ERROR_CODES.DOWNLOAD_INCOMPLETE,
            `${fetcher.source} refuses requests until ${iso(clock.now() + wait)} (rate limit); rerun then to resume`,
            { cause: err },
          );
        }
        note(`rate limit: waiting ${Math.ceil(wait / 1000)} s`);
        await sleep(wait);
        continue;
      }
      if (err.retryable && attempt < retries) {
        attempt++;
        note(`${err.code}, retry ${attempt}/${retries}`);
        await sleep(500 * 2 ** (attempt - 1));
        continue;
      }
      throw err;
    }
  }
}

/** The fetcher for one source, from the environment (keys, base URLs). */
export function buildFetcher(source: SourceName, env: Env): Fetcher {
  if (source === 'synthetic') return createSyntheticFetcher();
  const built = createFetchers({
    sources: [source],
    apiKeys: apiKeysFromEnv(env),
    baseUrls: baseUrlsFromEnv(env),
  });
  const f = built.fetchers[0];
  if (!f) {
    const reason = built.skipped[0]?.reason ?? 'not available';
    const keyVar = (KEY_VARS as Partial<Record<SourceName, string>>)[source];
    throw new CliError(
      CLI_ERROR_CODES.SOURCE_UNAVAILABLE,
      `source ${source}: ${reason}${keyVar ? ` (set ${keyVar})` : ''}`,
    );
  }
  return f;
}

const iso = (ms: number) => new Date(ms).toISOString();

function errorText(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && 'message' in err)
    return `${String(err.code)}: ${String(err.message)}`;
  return String(err);
}
