#!/usr/bin/env node
// Generates the TA-Lib reference files under test/reference/ from the real TA-Lib (the `talib`
// npm binding, which compiles TA-Lib's C sources). CI does not run this: it only reads the output.
//
//   node scripts/generate-reference.mjs /path/to/node_modules/talib [bars-for-full-file]
//
// Outputs:
//   random-<n>.json      every output of every indicator on the seeded random series (full values)
//   edge.json            every output on the hand-made edge-case series (full values)
//   random-100000.json   100,000 bars: first valid index, SHA-256 of the output bits, and 400 samples
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { edgeSeries, randomSeries } from './series.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'test', 'reference');
const talibPath = process.argv[2];
if (!talibPath) {
  process.stderr.write('usage: node scripts/generate-reference.mjs <path to talib module> [bars]\n');
  process.exit(2);
}
const talib = createRequire(import.meta.url)(resolve(talibPath));
const talibPkg = createRequire(import.meta.url)(join(resolve(talibPath), 'package.json'));
const SEED = 20240102;
const FULL_BARS = Number(process.argv[3] ?? 2000);
const BIG_BARS = 100_000;

/** Indicator cases: id, TA-Lib function, inputs, parameters, outputs (our name -> TA-Lib name). */
const CASES = [
  ['sma20', 'SMA', 'close', { optInTimePeriod: 20 }, { value: 'outReal' }],
  ['sma5', 'SMA', 'close', { optInTimePeriod: 5 }, { value: 'outReal' }],
  ['ema12', 'EMA', 'close', { optInTimePeriod: 12 }, { value: 'outReal' }],
  ['ema26', 'EMA', 'close', { optInTimePeriod: 26 }, { value: 'outReal' }],
  ['ema9', 'EMA', 'close', { optInTimePeriod: 9 }, { value: 'outReal' }],
  ['rsi14', 'RSI', 'close', { optInTimePeriod: 14 }, { value: 'outReal' }],
  ['rsi7', 'RSI', 'close', { optInTimePeriod: 7 }, { value: 'outReal' }],
  [
    'macd',
    'MACD',
    'close',
    { optInFastPeriod: 12, optInSlowPeriod: 26, optInSignalPeriod: 9 },
    { macd: 'outMACD', signal: 'outMACDSignal', histogram: 'outMACDHist' },
  ],
  [
    'macd5_35_5',
    'MACD',
    'close',
    { optInFastPeriod: 5, optInSlowPeriod: 35, optInSignalPeriod: 5 },
    { macd: 'outMACD', signal: 'outMACDSignal', histogram: 'outMACDHist' },
  ],
  [
    'bbands20',
    'BBANDS',
    'close',
    { optInTimePeriod: 20, optInNbDevUp: 2, optInNbDevDn: 2, optInMAType: 0 },
    { upper: 'outRealUpperBand', middle: 'outRealMiddleBand', lower: 'outRealLowerBand' },
  ],
  ['stddev20', 'STDDEV', 'close', { optInTimePeriod: 20, optInNbDev: 1 }, { value: 'outReal' }],
  ['stddev10x2', 'STDDEV', 'close', { optInTimePeriod: 10, optInNbDev: 2 }, { value: 'outReal' }],
  ['atr14', 'ATR', 'hlc', { optInTimePeriod: 14 }, { value: 'outReal' }],
  ['atr5', 'ATR', 'hlc', { optInTimePeriod: 5 }, { value: 'outReal' }],
  ['adx14', 'ADX', 'hlc', { optInTimePeriod: 14 }, { value: 'outReal' }],
  ['adx5', 'ADX', 'hlc', { optInTimePeriod: 5 }, { value: 'outReal' }],
  ['plusdi14', 'PLUS_DI', 'hlc', { optInTimePeriod: 14 }, { value: 'outReal' }],
  ['minusdi14', 'MINUS_DI', 'hlc', { optInTimePeriod: 14 }, { value: 'outReal' }],
  [
    'stoch14_3_3',
    'STOCH',
    'hlc',
    {
      optInFastK_Period: 14,
      optInSlowK_Period: 3,
      optInSlowK_MAType: 0,
      optInSlowD_Period: 3,
      optInSlowD_MAType: 0,
    },
    { k: 'outSlowK', d: 'outSlowD' },
  ],
  [
    'stoch5_2_4',
    'STOCH',
    'hlc',
    {
      optInFastK_Period: 5,
      optInSlowK_Period: 2,
      optInSlowK_MAType: 0,
      optInSlowD_Period: 4,
      optInSlowD_MAType: 0,
    },
    { k: 'outSlowK', d: 'outSlowD' },
  ],
  ['obv', 'OBV', 'cv', {}, { value: 'outReal' }],
];

function run(series, [id, name, inputs, params, outputs]) {
  const n = series.close.length;
  const arg = { name, startIdx: 0, endIdx: n - 1, ...params };
  const arr = (a) => Array.from(a);
  if (inputs === 'close') arg.inReal = arr(series.close);
  if (inputs === 'hlc')
    Object.assign(arg, { high: arr(series.high), low: arr(series.low), close: arr(series.close) });
  if (inputs === 'cv') Object.assign(arg, { inReal: arr(series.close), volume: arr(series.volume) });
  const res = talib.execute(arg);
  if (res.error) throw new Error(`${id}: ${res.error}`);
  const out = {};
  for (const [ours, theirs] of Object.entries(outputs)) {
    const full = new Float64Array(n).fill(NaN);
    res.result[theirs].forEach((v, i) => (full[res.begIndex + i] = v));
    out[ours] = full;
  }
  return { id, fn: name, params, begIndex: res.begIndex, outputs: out };
}

const b64 = (f64) => Buffer.from(f64.buffer, f64.byteOffset, f64.byteLength).toString('base64');
const sha = (f64) =>
  createHash('sha256')
    .update(Buffer.from(f64.buffer, f64.byteOffset, f64.byteLength))
    .digest('hex');
const inputHash = (s) => sha(Float64Array.from([...s.high, ...s.low, ...s.close, ...s.volume]));

/** The TA-Lib C version the binding compiled, read from its bundled sources. */
function taLibCVersion() {
  try {
    const src = readFileSync(join(resolve(talibPath), 'src/lib/src/ta_common/ta_version.c'), 'utf8');
    const get = (k) => new RegExp(`#define ${k} "([^"]*)"`).exec(src)?.[1];
    return `${get('MAJOR')}.${get('MINOR')}.${get('BUILD')}${get('EXTRA') ? '-' + get('EXTRA') : ''}`;
  } catch {
    return null;
  }
}

const provenance = {
  talib: talibPkg.version,
  taLibC: taLibCVersion(),
  generatedAt: new Date().toISOString(),
  node: process.version,
  command: `node scripts/generate-reference.mjs <talib> ${FULL_BARS}`,
};

function fullFile(series, seriesName) {
  return {
    provenance,
    series: seriesName,
    bars: series.close.length,
    inputs: Object.fromEntries(
      ['ts', 'open', 'high', 'low', 'close', 'volume'].map((k) => [k, b64(series[k])]),
    ),
    inputSha256: inputHash(series),
    cases: CASES.map((c) => {
      const r = run(series, c);
      return { ...r, outputs: Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, b64(v)])) };
    }),
  };
}

mkdirSync(outDir, { recursive: true });
writeFileSync(
  join(outDir, `random-${FULL_BARS}.json`),
  JSON.stringify(fullFile(randomSeries(SEED, FULL_BARS), `randomSeries(${SEED}, ${FULL_BARS})`)),
);
writeFileSync(join(outDir, 'edge.json'), JSON.stringify(fullFile(edgeSeries(), 'edgeSeries()')));

const big = randomSeries(SEED, BIG_BARS);
const SAMPLES = 400;
const sampleIdx = Array.from({ length: SAMPLES }, (_, i) => Math.floor(((i + 1) * (BIG_BARS - 1)) / SAMPLES));
writeFileSync(
  join(outDir, `random-${BIG_BARS}.json`),
  JSON.stringify({
    provenance,
    series: `randomSeries(${SEED}, ${BIG_BARS})`,
    bars: BIG_BARS,
    inputSha256: inputHash(big),
    sampleIdx,
    cases: CASES.map((c) => {
      const r = run(big, c);
      return {
        id: r.id,
        fn: r.fn,
        params: r.params,
        begIndex: r.begIndex,
        outputs: Object.fromEntries(
          Object.entries(r.outputs).map(([k, v]) => [
            k,
            { sha256: sha(v), samples: b64(Float64Array.from(sampleIdx, (i) => v[i])) },
          ]),
        ),
      };
    }),
  }),
);
process.stdout.write(`wrote reference files to ${outDir}\n`);
