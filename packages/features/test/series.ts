// The reference generator's input series. One implementation, scripts/series.mjs, serves both the
// generator (run under plain node beside the native talib build) and the tests and benchmarks, so the
// series the reference values were computed on cannot drift from the one the tests replay.
export { mulberry32, randomSeries, edgeSeries, type Columns } from '../scripts/series.mjs';
