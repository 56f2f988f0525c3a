// The sidecar's command line entry: `node dist/main.js` (pm2, systemd) or `pnpm start`.
import { readFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import { config as loadDotenv } from 'dotenv';
import { configSecrets, loadConfig, type SidecarConfig } from './wiring/config';
import { isSidecarError, SIDECAR_ERROR_CODES, type ConfigError } from './errors';
import { createLogger } from './wiring/logger';
import { missingNodeFlags } from './wiring/node-flags';
import { createService } from './wiring/service';

/** Shutdown must finish within this; pm2 and systemd are told 10 s too (kill_timeout, TimeoutStopSec). */
const SHUTDOWN_DEADLINE_MS = 9_000;

function version(): string {
  try {
    return (
      JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
  } catch {
    return '0.0.0';
  }
}

async function main(): Promise<void> {
  // .env fills in what the environment does not set; the real environment wins.
  loadDotenv({ quiet: true });
  let config: SidecarConfig;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (isSidecarError(err, SIDECAR_ERROR_CODES.CONFIG_INVALID)) {
      for (const issue of (err as ConfigError).message.split('\n'))
        process.stderr.write(`sidecar: ${issue}\n`);
      process.exit(78); // EX_CONFIG: systemd and pm2 show it as a configuration failure
    }
    throw err;
  }
  const isTerminal = process.stdout.isTTY === true && config.nodeEnv !== 'production';
  const log = createLogger({
    level: config.logLevel,
    format: config.logFormat,
    secrets: configSecrets(config),
    isTerminal,
  });
  for (const note of config.notes) log.info(note);
  const missing = missingNodeFlags();
  if (missing.length > 0)
    log.info(
      'started without the V8 flags the sidecar is tuned for: more CPU per symbol at thousands of symbols',
      {
        missing,
        see: 'apps/sidecar/README.md#performance',
      },
    );

  const service = createService(config, { logger: log, version: version() });
  const { sidecar } = service;

  // Bootstrap progress: a bar on a terminal, a log line every 10 % otherwise (and always in /health).
  const bar = isTerminal
    ? new SingleBar({
        format: 'bootstrap [{bar}] {percentage}% | {value}/{total} chunks | {bars} bars | {symbol}',
        hideCursor: true,
      })
    : undefined;
  let barStarted = false;
  let lastLogged = -1;
  sidecar.onBootstrapProgress((p) => {
    if (bar) {
      if (!barStarted && p.chunksPlanned > 0) {
        bar.start(p.chunksPlanned, 0, { bars: 0, symbol: '' });
        barStarted = true;
      }
      if (barStarted) bar.update(p.chunksDone, { bars: p.bars, symbol: p.current ?? 'done' });
      if (p.done && barStarted) bar.stop();
    } else {
      const decile = Math.floor(p.fraction * 10);
      if (decile !== lastLogged && p.chunksPlanned > 0) {
        lastLogged = decile;
        log.info('bootstrap progress', {
          percent: Math.round(p.fraction * 100),
          chunksDone: p.chunksDone,
          chunksPlanned: p.chunksPlanned,
          bars: p.bars,
          symbol: p.current,
        });
      }
    }
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    const timer = setTimeout(() => {
      log.error('shutdown did not finish in time; exiting', { deadlineMs: SHUTDOWN_DEADLINE_MS });
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    timer.unref();
    service
      .close()
      .then(() => {
        log.info('stopped cleanly');
        process.exit(0);
      })
      .catch((err: unknown) => {
        log.error('shutdown failed', { err });
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const address = await service.listen();
  log.info('HTTP API listening', {
    address,
    auth: config.apiToken ? 'bearer' : 'none',
    cache: service.deps.cache.kind,
    sqlite: config.sqlitePath,
  });
  await sidecar.start();
  // An open socket keeps the process alive; the loop's timers are unref'd.
  log.info('live', { symbols: config.symbols, sources: config.activeSources, timeframe: config.timeframe });
}

main().catch((err: unknown) => {
  process.stderr.write(`sidecar: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
