import { Command, InvalidArgumentError, Option } from 'commander';
import { TIMEFRAMES, isTimeframe, type SourceName, type Timeframe } from '@pipeline/core';
import { runDoctor, formatTable } from './doctor';
import { runDownload } from './download';
import { DOWNLOAD_SOURCES, type Env } from './env';
import { CLI_ERROR_CODES, CliError } from './errors';
import { runExport } from './export';
import { parseTarget } from './target';

export interface ProgramIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Env;
}

const DAY_MS = 86_400_000;

function symbolsArg(value: string): string[] {
  const list = value
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  if (list.length === 0) throw new InvalidArgumentError('give at least one symbol, e.g. EURUSD,AAPL');
  const bad = list.filter((s) => !/^[A-Z0-9._^=-]{1,32}$/.test(s));
  if (bad.length) throw new InvalidArgumentError(`not a symbol: ${bad.join(', ')}`);
  return [...new Set(list)];
}

function timeframeArg(value: string): Timeframe {
  if (!isTimeframe(value)) throw new InvalidArgumentError(`allowed: ${TIMEFRAMES.join(', ')}`);
  return value;
}

function positiveNumberArg(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number');
  return n;
}

function nonNegativeIntArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('a whole number >= 0');
  return n;
}

function dateArg(value: string): number {
  const ms = /^\d+$/.test(value)
    ? Number(value)
    : Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (!Number.isFinite(ms))
    throw new InvalidArgumentError('an ISO date (2024-01-31, 2024-01-31T12:00:00Z) or epoch ms');
  return ms;
}

function targetArg(value: string) {
  try {
    return parseTarget(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** The `pipeline` command line (commander), writing to the given streams; `main.ts` runs it. */
export function createProgram(io: ProgramIo): Command {
  const program = new Command('pipeline')
    .description('Market-data history: download it, export it, and check a setup')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();

  program
    .command('download')
    .description(
      'download bars from a provider into a CSV/Parquet file, a SQLite file or PostgreSQL (resumable)',
    )
    .requiredOption('--symbols <list>', 'comma-separated generic symbols, e.g. EURUSD,AAPL', symbolsArg)
    .addOption(new Option('--timeframe <tf>', 'bar timeframe').default('1m').argParser(timeframeArg))
    .addOption(
      new Option('--days <n>', 'how many days back from now').default(30).argParser(positiveNumberArg),
    )
    .option('--start <date>', 'first bar time instead of --days (ISO date or epoch ms)', dateArg)
    .option('--end <date>', 'end (exclusive) instead of now (ISO date or epoch ms)', dateArg)
    .addOption(new Option('--source <name>', 'provider').default('yahoo').choices(DOWNLOAD_SOURCES))
    .requiredOption('--out <target>', 'file.csv | file.parquet | sqlite:path | postgres://...', targetArg)
    .option('--force', 'replace an existing CSV/Parquet file', false)
    .option('--no-progress', 'no progress bar')
    .addOption(
      new Option('--retries <n>', 'retries of a transient failure per request')
        .default(3)
        .argParser(nonNegativeIntArg),
    )
    .action(
      async (opts: {
        symbols: string[];
        timeframe: Timeframe;
        days: number;
        start?: number;
        end?: number;
        source: SourceName;
        out: ReturnType<typeof parseTarget>;
        force: boolean;
        progress: boolean;
        retries: number;
      }) => {
        const to = opts.end ?? Date.now();
        const from = opts.start ?? to - opts.days * DAY_MS;
        if (from >= to)
          throw new CliError(
            CLI_ERROR_CODES.BAD_ARGUMENT,
            `--start (${new Date(from).toISOString()}) must be before --end (${new Date(to).toISOString()})`,
          );
        await runDownload({
          symbols: opts.symbols,
          timeframe: opts.timeframe,
          from,
          to,
          source: opts.source,
          out: opts.out,
          force: opts.force,
          progress: opts.progress,
          retries: opts.retries,
          env: io.env,
          stdout: io.stdout,
          stderr: io.stderr,
        });
      },
    );

  program
    .command('export')
    .description('export bars from a SQLite or PostgreSQL history to CSV or Parquet')
    .requiredOption('--from <store>', 'sqlite:path | postgres://...', targetArg)
    .requiredOption('--symbols <list>', 'comma-separated generic symbols', symbolsArg)
    .addOption(new Option('--timeframe <tf>', 'bar timeframe').default('1m').argParser(timeframeArg))
    .option('--start <date>', 'first bar time (ISO date or epoch ms); default: the oldest', dateArg)
    .option('--end <date>', 'end, exclusive (ISO date or epoch ms); default: now', dateArg)
    .requiredOption('--out <file>', 'file.csv | file.parquet', targetArg)
    .action(
      async (opts: {
        from: ReturnType<typeof parseTarget>;
        symbols: string[];
        timeframe: Timeframe;
        start?: number;
        end?: number;
        out: ReturnType<typeof parseTarget>;
      }) => {
        await runExport({ ...opts, stdout: io.stdout });
      },
    );

  program
    .command('doctor')
    .description(
      'check configuration, keys, Redis/SQLite/PostgreSQL and each provider (one cheap request each)',
    )
    .option('--symbol <symbol>', 'symbol asked from each provider (default: first of SYMBOLS)')
    .addOption(new Option('--timeout <ms>', 'per network check').default(5000).argParser(positiveNumberArg))
    .action(async (opts: { symbol?: string; timeout: number }) => {
      const rows = await runDoctor({ env: io.env, symbol: opts.symbol, timeoutMs: opts.timeout });
      io.stdout.write(formatTable(rows) + '\n');
      const failed = rows.filter((r) => r.status === 'FAIL');
      if (failed.length > 0) {
        throw new CliError(
          CLI_ERROR_CODES.DOCTOR_FAILED,
          `${failed.length} check(s) failed: ${failed.map((r) => r.check).join(', ')}`,
        );
      }
    });

  return program;
}

/** Runs the command line; resolves with the process exit code (0 ok, 1 failure, 2 usage error). */
export async function runCli(argv: readonly string[], io: ProgramIo): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // help and version exit 0; a usage error was already printed by commander
      return e.exitCode === 0 ? 0 : 2;
    }
    io.stderr.write(
      `pipeline: ${e.code && e.message && !e.message.startsWith(e.code) ? `${e.code}: ` : ''}${e.message ?? String(err)}\n`,
    );
    return 1;
  }
}
