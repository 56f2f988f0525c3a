// Builds and runs bench/talib-c/harness.c: TA-Lib's C core timed per bar over the same series as the
// JavaScript benchmark. The C sources are the ones the `talib` npm package ships (the same package,
// same version, that produced test/reference/); the binding itself is not used (it adds marshalling
// cost and is not the baseline). Everything is built into a cache folder at bench time:
//
//   <package>/node_modules/.cache/talib-c/talib-<version>.tgz   fetched with `npm pack` (integrity checked)
//   <package>/node_modules/.cache/talib-c/src/package/...        the unpacked package
//   <package>/node_modules/.cache/talib-c/harness-<hash>         cc -O2 build of harness.c + the needed sources
//
// runTalibC runs every case in one process (minimum over rounds); bench/talib-c/paired.ts runs the
// harness in serve mode and alternates single C calls with single JavaScript calls (the comparison
// bench/indicators.ts reports).
// TALIB_DIR=/path/to/unpacked/talib uses an existing copy instead of `npm pack` (offline machines).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Columns } from '../../test/series';

export const TALIB_VERSION = '1.1.6';
/** `npm view talib@1.1.6 dist.integrity`: the tarball is refused when it differs. */
const TALIB_INTEGRITY =
  'sha512-9hzOn6ZnzoA3vWQaCySg3GP+neR42hOFnSVPr5X4fH5CUaV0XaBNJDEyuqv+dPY42WGC9k0BLCKcY4TK1tcuMg==';
/** TA-Lib C sources the harness links: the timed functions and what they call (TA_MA's types). */
const FUNC_SOURCES = [
  'SMA',
  'EMA',
  'RSI',
  'MACD',
  'BBANDS',
  'MA',
  'STDDEV',
  'VAR',
  'ATR',
  'TRANGE',
  'STOCH',
  'ADX',
  'PLUS_DI',
  'MINUS_DI',
  'OBV',
  'DEMA',
  'TEMA',
  'WMA',
  'KAMA',
  'MAMA',
  'T3',
  'TRIMA',
  'utility',
];
const CFLAGS = ['-O2'];

export interface TalibCResult {
  /** TA-Lib C version string (TA_GetVersionString). */
  version: string;
  /** How the harness was compiled. */
  compiler: string;
  /** ns per bar, minimum of whole-history calls; keyed SMA, EMA, ..., ADX, PLUS_DI, MINUS_DI, OBV. */
  results: Record<string, { nsPerBar: number; begIndex: number }>;
}

const here = import.meta.dirname;
const cacheDir = join(here, '..', '..', 'node_modules', '.cache', 'talib-c');

function sourceDir(): string {
  const given = process.env.TALIB_DIR;
  if (given !== undefined && given !== '') {
    const lib = join(given, 'src', 'lib');
    if (!existsSync(join(lib, 'include', 'ta_libc.h')))
      throw new Error(
        `TALIB_DIR=${given}: no src/lib/include/ta_libc.h (expected an unpacked talib package)`,
      );
    return lib;
  }
  const unpacked = join(cacheDir, 'src', 'package', 'src', 'lib');
  if (existsSync(join(unpacked, 'include', 'ta_libc.h'))) return unpacked;
  mkdirSync(cacheDir, { recursive: true });
  const tgz = join(cacheDir, `talib-${TALIB_VERSION}.tgz`);
  if (!existsSync(tgz)) {
    execFileSync('npm', ['pack', `talib@${TALIB_VERSION}`, '--pack-destination', cacheDir, '--silent'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const integrity = 'sha512-' + createHash('sha512').update(readFileSync(tgz)).digest('base64');
  if (integrity !== TALIB_INTEGRITY)
    throw new Error(`${tgz}: integrity ${integrity}, expected ${TALIB_INTEGRITY}`);
  mkdirSync(join(cacheDir, 'src'), { recursive: true });
  execFileSync('tar', ['xzf', tgz, '-C', join(cacheDir, 'src')]);
  return unpacked;
}

function build(): { exe: string; compiler: string } {
  const lib = sourceDir();
  const harness = join(here, 'harness.c');
  const sources = [
    harness,
    ...['ta_global', 'ta_retcode', 'ta_version'].map((f) => join(lib, 'src', 'ta_common', `${f}.c`)),
    ...FUNC_SOURCES.map((f) => join(lib, 'src', 'ta_func', `ta_${f}.c`)),
  ];
  const cc = process.env.CC ?? 'cc';
  const compiler = execFileSync(cc, ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? cc;
  const h = createHash('sha256');
  for (const s of sources) h.update(readFileSync(s));
  h.update(JSON.stringify([cc, compiler, CFLAGS]));
  const exe = join(cacheDir, `harness-${h.digest('hex').slice(0, 16)}`);
  if (!existsSync(exe)) {
    mkdirSync(cacheDir, { recursive: true });
    execFileSync(
      cc,
      [
        ...CFLAGS,
        '-w',
        '-o',
        exe,
        `-I${join(lib, 'include')}`,
        `-I${join(lib, 'src', 'ta_common')}`,
        `-I${join(lib, 'src', 'ta_func')}`,
        ...sources,
        '-lm',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  return { exe, compiler: `${compiler} ${CFLAGS.join(' ')}` };
}

/** Builds the harness (once, cached) and writes `s` where it reads it; returns both paths. */
export function prepareTalibC(s: Columns): { exe: string; compiler: string; seriesFile: string } {
  const { exe, compiler } = build();
  const n = s.close.length;
  const buf = Buffer.alloc(8 + 5 * 8 * n);
  buf.writeBigInt64LE(BigInt(n), 0);
  let off = 8;
  for (const col of [s.ts, s.high, s.low, s.close, s.volume]) {
    Buffer.from(col.buffer, col.byteOffset, col.byteLength).copy(buf, off);
    off += col.byteLength;
  }
  const seriesFile = join(cacheDir, `series-${n}.bin`);
  writeFileSync(seriesFile, buf);
  return { exe, compiler, seriesFile };
}

/** Builds (once, cached) and runs the harness over `s`: every case, `rounds` rounds, minimum per case. */
export function runTalibC(s: Columns, rounds: number): TalibCResult {
  const { exe, compiler, seriesFile } = prepareTalibC(s);
  const out = execFileSync(exe, [seriesFile, String(rounds)], { encoding: 'utf8' });
  const parsed = JSON.parse(out.trim()) as Omit<TalibCResult, 'compiler'>;
  return { version: parsed.version, compiler, results: parsed.results };
}

/** The TA-Lib version string of the built harness (runs it for one round). */
export function talibCVersion(s: Columns): { version: string; compiler: string } {
  const r = runTalibC(s, 1);
  return { version: r.version, compiler: r.compiler };
}
