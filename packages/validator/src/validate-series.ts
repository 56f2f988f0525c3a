// validateSeries(): many bars in one pass into column results, without allocating per clean bar;
// from a blank state (`fresh`, history and backfill) or continuing the live state (`shared`).
import { TIMEFRAME_MS, type Bar } from '@pipeline/core';
import { checkBar, renderIssues } from './check';
import { type ValidatorContext } from './context';
import { SeriesShapeError } from './errors';
import { STATUS_CODES, type Issue } from './rules';
import { SCHEMA_BIT, schemaProblem, schemaReject } from './schema';
import { ReferenceCursor, checkColumns } from './series-input';
import { type SeriesState } from './state';
import { type BarColumns, type SeriesOptions, type SeriesRepair, type SeriesResult } from './types';

export function validateSeriesIn(
  ctx: ValidatorContext,
  series: readonly Bar[] | BarColumns,
  seriesOptions?: SeriesOptions,
): SeriesResult {
  const { cfg, scratch, counters, events } = ctx;
  const now = ctx.clock.now();
  const shared = seriesOptions?.state === 'shared';
  if (seriesOptions?.state !== undefined && !shared && seriesOptions.state !== 'fresh') {
    throw new SeriesShapeError(
      'state',
      `option "state" must be "fresh" or "shared", got ${JSON.stringify(seriesOptions.state)}`,
    );
  }
  const fresh = shared ? null : new Map<string, SeriesState>();
  const rows = Array.isArray(series) ? (series as readonly Bar[]) : null;
  const cols = rows === null ? (series as BarColumns) : null;
  const n = cols !== null ? checkColumns(cols) : (rows?.length ?? 0);
  const ref = new ReferenceCursor(seriesOptions?.reference);

  const status = new Uint8Array(n);
  const quality = new Float64Array(n);
  const rules = new Uint32Array(n);
  const repairs: SeriesRepair[] = [];
  const issuesOut: Array<{ index: number; issues: Issue[] }> = [];

  let st: SeriesState | null = null;
  let tfMs = NaN;
  let lastSymbol: string | undefined;
  let lastTimeframe: string | undefined;
  if (cols !== null) {
    st = stateOf(ctx, fresh, cols.symbol, cols.timeframe);
    tfMs = TIMEFRAME_MS[cols.timeframe];
  }
  const finalCol = cols?.final;
  const columnSource = cols?.source ?? 'replay';

  for (let i = 0; i < n; i++) {
    let ts: number, o: number, h: number, l: number, c: number, final: boolean;
    let v: unknown;
    let symbol: string, timeframe: string, source: string;
    if (cols !== null) {
      ts = cols.ts[i] ?? NaN;
      o = cols.open[i] ?? NaN;
      h = cols.high[i] ?? NaN;
      l = cols.low[i] ?? NaN;
      c = cols.close[i] ?? NaN;
      v = cols.volume[i];
      final = finalCol === undefined ? true : Boolean(finalCol[i]);
      symbol = cols.symbol;
      timeframe = cols.timeframe;
      source = columnSource;
    } else {
      // i < n = rows.length, but an array may have holes: a missing element is a schema problem even
      // when the schema rule is off.
      const row = (rows as readonly (Bar | undefined)[])[i];
      const problem = ctx.schemaEnabled || row === undefined ? schemaProblem(row) : null;
      if (problem !== null) {
        const issues = schemaReject(scratch, problem.field, problem.message);
        counters.count(scratch);
        status[i] = STATUS_CODES.rejected;
        rules[i] = SCHEMA_BIT;
        issuesOut.push({ index: i, issues });
        events.emitForUnknown(issues, STATUS_CODES.rejected, row);
        continue;
      }
      const bar = row as Bar; // defined: schemaProblem(undefined) is never null
      ts = bar.ts;
      o = bar.open;
      h = bar.high;
      l = bar.low;
      c = bar.close;
      v = bar.volume;
      final = bar.final;
      symbol = bar.symbol;
      timeframe = bar.timeframe;
      source = bar.source;
      if (symbol !== lastSymbol || timeframe !== lastTimeframe) {
        st = stateOf(ctx, fresh, symbol, timeframe);
        tfMs = TIMEFRAME_MS[bar.timeframe];
        lastSymbol = symbol;
        lastTimeframe = timeframe;
      }
    }
    ref.seek(ts);
    checkBar(cfg, st, tfMs, ts, o, h, l, c, v, final, ref.open, ref.high, ref.low, ref.close, now, scratch);
    counters.count(scratch);
    status[i] = scratch.status;
    quality[i] = scratch.quality;
    rules[i] = scratch.mask;
    if (scratch.status === STATUS_CODES.repaired) {
      repairs.push({ index: i, high: scratch.high, low: scratch.low, volume: scratch.volume });
    }
    if (scratch.mask !== 0) {
      const issues = renderIssues(scratch, cfg, timeframe);
      issuesOut.push({ index: i, issues });
      events.emit(issues, scratch.status, symbol, timeframe, ts, source);
    }
  }
  let accepted = 0;
  let repaired = 0;
  let rejected = 0;
  for (let i = 0; i < n; i++) {
    const s = status[i];
    if (s === 0) accepted++;
    else if (s === 1) repaired++;
    else rejected++;
  }
  return { length: n, status, quality, rules, repairs, issues: issuesOut, accepted, repaired, rejected };
}

/** The live state of a series, or its state in the run's own map (`state: 'fresh'`). */
function stateOf(
  ctx: ValidatorContext,
  fresh: Map<string, SeriesState> | null,
  symbol: string,
  timeframe: string,
): SeriesState {
  return fresh === null ? ctx.states.live(symbol, timeframe) : ctx.states.fresh(fresh, symbol, timeframe);
}
