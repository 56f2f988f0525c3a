// Shared by the CLI tests: the real bin as a child process, and a fixture server speaking Yahoo's
// chart format (recorded answers, or answers made from the synthetic market for any range).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TIMEFRAME_MS, type Bar, type Timeframe } from '@pipeline/core';
import { createSyntheticFetcher } from '@pipeline/fetchers';
import { yahooChartBody } from '@pipeline/fetchers/testing';
import {
  cleanupTempDirs,
  fixtureReply,
  startFixtureServer,
  type FixtureReply,
  type FixtureServer,
  type RecordedRequest,
} from '@pipeline/test-utils';

export const BIN = join(__dirname, '..', 'dist', 'main.js');

export function assertBuilt(): void {
  if (!existsSync(BIN))
    throw new Error(`${BIN} is missing: run \`pnpm --filter @pipeline/cli... build\` first`);
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment a test run starts from: no provider keys or URLs of the developer's shell. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/_API_KEY$|_BASE_URL$|^(REDIS_URL|HISTORY_URL|SQLITE_PATH|SOURCES|SYMBOLS|TIMEFRAME)$/.test(k))
      continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Starts the bin; `child` is exposed so a test can kill it. */
export function startBin(
  args: string[],
  opts: { env: Record<string, string>; cwd: string },
): { child: ChildProcess; done: Promise<RunResult> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: opts.env,
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<RunResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

export function runBin(
  args: string[],
  opts: { env: Record<string, string>; cwd: string },
): Promise<RunResult> {
  return startBin(args, opts).done;
}

const YAHOO_TO_GENERIC: Record<string, string> = { 'EURUSD=X': 'EURUSD', AAPL: 'AAPL', 'GC=F': 'XAUUSD' };
const INTERVAL_TF: Record<string, Timeframe> = { '1m': '1m', '5m': '5m', '60m': '1h', '1d': '1d' };

export interface YahooFixture {
  server: FixtureServer;
  url: string;
  /** Chart requests received so far. */
  chartRequests(): RecordedRequest[];
  /** Delay of every chart answer, ms. */
  delayMs: number;
  /** Answers for the next chart requests, used before the synthetic market (e.g. a 429). */
  queue: FixtureReply[];
  close(): Promise<void>;
}

/**
 * A Yahoo chart endpoint. `EURUSD=X` daily bars in 2020 come from the recording
 * `yahoo/chart-EURUSD_X-1d-2020-full-year.json`; any other request is answered in Yahoo's format with
 * bars of the synthetic market (seed 7) for the requested range (`period1`/`period2` or `range`).
 */
export async function startYahooFixture(): Promise<YahooFixture> {
  const market = createSyntheticFetcher({ seed: 7 });
  const state = { delayMs: 0, queue: [] as FixtureReply[] };
  const server = await startFixtureServer(async (req) => {
    const m = /^\/v8\/finance\/chart\/(.+)$/.exec(req.path);
    if (!m) return { status: 404, body: '{"error":"not a chart request"}' };
    const next = state.queue.shift();
    if (next) return next;
    const provider = decodeURIComponent(m[1]!);
    const interval = req.query.get('interval') ?? '1d';
    const p1 = Number(req.query.get('period1')) * 1000;
    if (
      provider === 'EURUSD=X' &&
      interval === '1d' &&
      p1 < Date.UTC(2021, 0, 1) &&
      p1 >= Date.UTC(2019, 11, 1)
    ) {
      return fixtureReply('yahoo/chart-EURUSD_X-1d-2020-full-year.json', { delayMs: state.delayMs });
    }
    const symbol = YAHOO_TO_GENERIC[provider];
    const tf = INTERVAL_TF[interval];
    if (!symbol || !tf)
      return {
        status: 404,
        body: JSON.stringify({
          chart: { result: null, error: { code: 'Not Found', description: 'No data found' } },
        }),
      };
    const now = Date.now();
    let from: number;
    let to: number;
    if (req.query.get('range')) {
      from = now - 5 * 86_400_000;
      to = now;
    } else {
      from = p1;
      to = Math.min(Number(req.query.get('period2')) * 1000, now);
    }
    const bars: Bar[] =
      to > from
        ? await market.fetchHistory({ symbol, timeframe: tf, from: from - (from % TIMEFRAME_MS[tf]), to })
        : [];
    return {
      status: 200,
      body: JSON.stringify(yahooChartBody(provider, interval, bars, now)),
      delayMs: state.delayMs,
    };
  });
  return {
    server,
    url: server.url,
    chartRequests: () => server.requests.filter((r) => r.path.startsWith('/v8/finance/chart/')),
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(v: number) {
      state.delayMs = v;
    },
    queue: state.queue,
    close: () => server.close(),
  };
}

/**
 * The set-up every bin suite shares: the bin must be built, one Yahoo fixture serves the whole file
 * (its delay and reply queue reset before each test; `onReady` receives it), and the temp dirs are
 * removed at the end.
 */
export function setUpBinSuite(onReady: (yahoo: YahooFixture) => void): void {
  let yahoo: YahooFixture | undefined;
  beforeAll(async () => {
    assertBuilt();
    yahoo = await startYahooFixture();
    onReady(yahoo);
  });
  afterAll(async () => {
    await yahoo?.close();
    cleanupTempDirs();
  });
  beforeEach(() => {
    if (!yahoo) return;
    yahoo.delayMs = 0;
    yahoo.queue.length = 0;
  });
}

/** CSV rows as objects (the CLI's own files: no quoted commas in these symbols). */
export function parseCsv(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trim().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}

/** Asserts one series is strictly increasing with a fixed step (no duplicates, no gaps). */
export function stepsOf(ts: number[]): Set<number> {
  const steps = new Set<number>();
  for (let i = 1; i < ts.length; i++) steps.add(ts[i]! - ts[i - 1]!);
  return steps;
}
