// Shared parts of the reliability suite: the bar invariants every stored or cached bar must keep,
// the service as a real child process, a fault-injecting proxy in front of a provider-format server,
// and reading a SQLite history file back after the service has gone.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { TIMEFRAME_MS, type Bar, type Timeframe } from '@pipeline/core';
import { createSqliteStore } from '@pipeline/sqlite-store';
import { startFixtureServer, type FixtureReply, type FixtureServer } from '@pipeline/test-utils';
import { type HealthReport } from '../src/sidecar';

/** apps/sidecar: where `src/main.ts` is started from. */
export const APP_DIR = join(__dirname, '..');

/**
 * Why `bar` must not be stored or cached as valid (empty when it is fine): the invariants of
 * ARCHITECTURE.md "The bar". `now` is the wall time the bar was judged at: a bar may open no
 * later than now (the forming bar opens at or before now).
 */
export function barViolations(bar: Bar, now: number): string[] {
  const out: string[] = [];
  const prices = [bar.open, bar.high, bar.low, bar.close];
  if (!prices.every((p) => typeof p === 'number' && Number.isFinite(p) && p > 0))
    out.push('price not finite and > 0');
  if (!(bar.low <= bar.open && bar.low <= bar.close)) out.push('low above open or close');
  if (!(bar.high >= bar.open && bar.high >= bar.close)) out.push('high below open or close');
  if (!(typeof bar.volume === 'number' && Number.isFinite(bar.volume) && bar.volume >= 0))
    out.push('volume not finite and >= 0');
  const step = TIMEFRAME_MS[bar.timeframe];
  if (!Number.isSafeInteger(bar.ts) || step === undefined || bar.ts % step !== 0)
    out.push(`ts ${bar.ts} not aligned to ${bar.timeframe}`);
  if (bar.ts > now) out.push(`ts ${new Date(bar.ts).toISOString()} in the future`);
  if (!(bar.quality >= 0 && bar.quality <= 1)) out.push(`quality ${bar.quality} outside 0..1`);
  return out;
}

/** Every bar of a series in the SQLite file at `path`, oldest first (opens and closes its own connection). */
export async function readStoredBars(path: string, symbol: string, timeframe: Timeframe): Promise<Bar[]> {
  const store = createSqliteStore({ path });
  try {
    return store.range({ symbol, timeframe, from: 0, to: Number.MAX_SAFE_INTEGER });
  } finally {
    await store.close();
  }
}

/** Polls `fn` until it returns something other than undefined (errors count as "not yet"). */
export async function waitFor<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface ChildService {
  child: ChildProcess;
  /** stdout and stderr so far (JSON log lines). */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  baseUrl: string;
  health(): Promise<HealthReport>;
  /** SIGKILL if still running (test clean-up). */
  dispose(): void;
}

/**
 * The service as operators run it: `node --import tsx src/main.ts` in apps/sidecar, configured only
 * by the environment (the parent's environment is not inherited beyond PATH, so no stray setting or
 * `.env` of the developer leaks in: dotenv reads `.env` from the working directory, and there is none).
 */
export function spawnService(env: Record<string, string>, port: number): ChildService {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: APP_DIR,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: String(port),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    child,
    output: () => out,
    exited,
    baseUrl,
    health: async () => (await (await fetch(`${baseUrl}/health`)).json()) as HealthReport,
    dispose() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Waits until the child answers /health/ready with 200 (or fails early when it exits). */
export async function waitReady(svc: ChildService, timeoutMs = 30_000): Promise<void> {
  let exited = false;
  void svc.exited.then(() => (exited = true));
  await waitFor(
    async () => {
      if (exited) throw new Error(`service exited before it was ready:\n${svc.output()}`);
      return (await fetch(`${svc.baseUrl}/health/ready`)).status === 200 ? true : undefined;
    },
    timeoutMs,
    'the service to be ready',
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n--- service output ---\n${svc.output().slice(-4000)}`);
  });
}

export type FaultSpec = FixtureReply | ((upstream: FixtureReply) => FixtureReply);

export interface FaultProxy extends FixtureServer {
  /**
   * Answer every request with this instead of forwarding; a function receives the upstream's real
   * answer and damages it (e.g. truncates it). null: forward unchanged again.
   */
  setFault(reply: FaultSpec | null): void;
  /** Requests that reached the proxy so far. */
  readonly count: number;
}

/**
 * A real HTTP server that forwards each request to `upstream` (a provider-format server) and passes
 * its answer back unchanged, or answers with a scripted fault: the faults of test-utils' fixture
 * server (hang, reset, truncateAt, delayMs, any status, headers and body) in front of real formats.
 */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  let fault: FaultSpec | null = null;
  const server = await startFixtureServer(async (req) => {
    if (fault && typeof fault !== 'function') return fault;
    const res = await fetch(`${upstream}${req.url}`);
    const real: FixtureReply = {
      status: res.status,
      headers: { 'content-type': res.headers.get('content-type') ?? 'application/json' },
      body: Buffer.from(await res.arrayBuffer()),
    };
    return fault ? fault(real) : real;
  });
  return {
    get url() {
      return server.url;
    },
    get port() {
      return server.port;
    },
    get requests() {
      return server.requests;
    },
    get connections() {
      return server.connections;
    },
    get count() {
      return server.requests.length;
    },
    setHandler: (h) => server.setHandler(h),
    setFault(reply: FaultSpec | null) {
      fault = reply;
    },
    close: () => server.close(),
  };
}
