import {
  TIMEFRAME_MS,
  alignTs,
  isTimeframe,
  type Bar,
  type HistoryCalendar,
  type SourceName,
  type Timeframe,
} from '@pipeline/core';

/** How the bars table is laid out in a given database. */
export type Layout = 'native' | 'timescale';

/** What a migration needs to know to write its SQL. */
export interface MigrationContext {
  /** Quoted schema name. */
  schema: string;
  layout: Layout;
}

/** One versioned step; applied once, in order, inside the migration transaction. */
export interface Migration {
  version: number;
  name: string;
  statements(ctx: MigrationContext): string[];
}

/** Roughly one month of epoch ms: the TimescaleDB chunk interval (the column is integer ms). */
export const TIMESCALE_CHUNK_MS = 30 * 86_400_000;

/**
 * Versioned schema. Entry i moves a database from version i to i + 1; `schema_migrations` records
 * every applied version. All pending steps run in one transaction under an advisory lock, so N
 * sidecars starting at once migrate exactly once and none sees a half-migrated schema.
 */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: 'bars, kv',
    statements: ({ schema, layout }: MigrationContext) => [
      // ts is epoch ms (bigint) as in the Bar type: no conversion on the hot paths, and the same
      // values as sqlite-store. The primary key includes ts, as a partitioned table requires.
      `CREATE TABLE ${schema}.bars (
         symbol    text             NOT NULL,
         timeframe text             NOT NULL,
         ts        bigint           NOT NULL,
         open      double precision NOT NULL,
         high      double precision NOT NULL,
         low       double precision NOT NULL,
         close     double precision NOT NULL,
         volume    double precision NOT NULL,
         source    text             NOT NULL,
         final     boolean          NOT NULL,
         quality   double precision NOT NULL,
         PRIMARY KEY (symbol, timeframe, ts)
       )${layout === 'native' ? ' PARTITION BY RANGE (ts)' : ''}`,
      ...(layout === 'timescale'
        ? [
            `SELECT create_hypertable('${schema}.bars', 'ts', chunk_time_interval => ${TIMESCALE_CHUNK_MS}::bigint)`,
          ]
        : []),
      `CREATE TABLE ${schema}.kv (
         key        text        NOT NULL PRIMARY KEY,
         value      jsonb       NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now()
       )`,
    ],
  },
]);

/** The schema version this package writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Double-quotes an identifier (names are validated as [a-z_][a-z0-9_]* by the options already). */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export const BAR_COLUMNS = 'symbol, timeframe, ts, open, high, low, close, volume, source, final, quality';

const UPDATE_SET =
  'open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close, ' +
  'volume = excluded.volume, source = excluded.source, final = excluded.final, quality = excluded.quality';

/**
 * Multi-row upsert of one batch: 11 parallel arrays expanded by `unnest`, so a statement of any size
 * has 11 parameters and one plan. Keys within a batch must be distinct (the buffer guarantees it).
 */
export function upsertSql(schema: string): string {
  return (
    `INSERT INTO ${schema}.bars (${BAR_COLUMNS}) ` +
    'SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::float8[], $6::float8[], ' +
    '$7::float8[], $8::float8[], $9::text[], $10::bool[], $11::float8[]) ' +
    `ON CONFLICT (symbol, timeframe, ts) DO UPDATE SET ${UPDATE_SET}`
  );
}

/** Moves a COPYed staging table into bars, replacing rows with the same key. */
export function mergeStagingSql(schema: string, staging: string): string {
  return (
    `INSERT INTO ${schema}.bars (${BAR_COLUMNS}) SELECT ${BAR_COLUMNS} FROM ${staging} ` +
    // Key order, like flushes: concurrent writers of overlapping keys lock rows in the same order.
    'ORDER BY symbol COLLATE "C", timeframe COLLATE "C", ts ' +
    `ON CONFLICT (symbol, timeframe, ts) DO UPDATE SET ${UPDATE_SET}`
  );
}

// Element type OIDs of the binary array format (see array_send in PostgreSQL's arrayfuncs.c).
const OID_BOOL = 16;
const OID_INT8 = 20;
const OID_TEXT = 25;
const OID_FLOAT8 = 701;
const HEADER = 20; // ndim, has-nulls flag, element oid, dimension size, lower bound

function arrayHeader(buf: Buffer, at: number, oid: number, n: number): number {
  buf.writeInt32BE(1, at);
  buf.writeInt32BE(0, at + 4);
  buf.writeUInt32BE(oid, at + 8);
  buf.writeInt32BE(n, at + 12);
  buf.writeInt32BE(1, at + 16);
  return at + HEADER;
}

type NumberField = 'open' | 'high' | 'low' | 'close' | 'volume' | 'quality';
type TextField = 'symbol' | 'timeframe' | 'source';

/** UTF-8 of each distinct value of a text field (few per batch: symbols, timeframes, sources). */
function encodeTexts(bars: readonly Bar[], field: TextField): { bytes: Map<string, Buffer>; size: number } {
  const bytes = new Map<string, Buffer>();
  let size = HEADER;
  let lastValue: string | undefined;
  let lastBytes = 0;
  for (const b of bars) {
    const v = b[field];
    if (v !== lastValue) {
      let e = bytes.get(v);
      if (!e) {
        e = Buffer.from(v, 'utf8');
        bytes.set(v, e);
      }
      lastValue = v;
      lastBytes = e.length;
    }
    size += 4 + lastBytes;
  }
  return { bytes, size };
}

function writeText(
  buf: Buffer,
  at: number,
  bars: readonly Bar[],
  field: TextField,
  bytes: Map<string, Buffer>,
): number {
  let off = arrayHeader(buf, at, OID_TEXT, bars.length);
  let lastValue: string | undefined;
  let e: Buffer = Buffer.alloc(0);
  for (const b of bars) {
    const v = b[field];
    if (v !== lastValue) {
      // encodeTexts put every value of this field of these bars in the map.
      const got = bytes.get(v);
      if (got === undefined) throw new Error(`pg-store: no encoded bytes for ${field} ${JSON.stringify(v)}`);
      e = got;
      lastValue = v;
    }
    buf.writeInt32BE(e.length, off);
    e.copy(buf, off + 4);
    off += 4 + e.length;
  }
  return off;
}

function writeFloat8(buf: Buffer, at: number, bars: readonly Bar[], field: NumberField): number {
  let off = arrayHeader(buf, at, OID_FLOAT8, bars.length);
  for (const b of bars) {
    buf.writeInt32BE(8, off);
    buf.writeDoubleBE(b[field], off + 4);
    off += 12;
  }
  return off;
}

function writeTs(buf: Buffer, at: number, bars: readonly Bar[]): number {
  let off = arrayHeader(buf, at, OID_INT8, bars.length);
  for (const b of bars) {
    const hi = Math.floor(b.ts / 4_294_967_296); // ts is a safe integer (checked by barProblem)
    buf.writeInt32BE(8, off);
    buf.writeInt32BE(hi, off + 4);
    buf.writeUInt32BE(b.ts - hi * 4_294_967_296, off + 8);
    off += 12;
  }
  return off;
}

function writeBool(buf: Buffer, at: number, bars: readonly Bar[]): number {
  let off = arrayHeader(buf, at, OID_BOOL, bars.length);
  for (const b of bars) {
    buf.writeInt32BE(1, off);
    buf[off + 4] = b.final ? 1 : 0;
    off += 5;
  }
  return off;
}

/**
 * The 11 parameters of {@link upsertSql} for `bars`, as binary-format arrays (node-postgres sends a
 * Buffer parameter as binary), all views of one allocation per statement to keep garbage low. Its own
 * text serialisation of JavaScript arrays cost 10-40 us per element and blocked the event loop
 * 100-400 ms for 10,000 rows; hand-built text literals spend most of their time turning doubles into
 * decimal strings. Binary is exact and needs no escaping.
 */
export function upsertParams(bars: readonly Bar[]): Buffer[] {
  const n = bars.length;
  const sym = encodeTexts(bars, 'symbol');
  const tf = encodeTexts(bars, 'timeframe');
  const src = encodeTexts(bars, 'source');
  const numeric = HEADER + n * 12;
  const total = sym.size + tf.size + src.size + 7 * numeric + HEADER + n * 5;
  const buf = Buffer.allocUnsafe(total);
  const ends: number[] = [];
  let at = 0;
  at = writeText(buf, at, bars, 'symbol', sym.bytes);
  ends.push(at);
  at = writeText(buf, at, bars, 'timeframe', tf.bytes);
  ends.push(at);
  at = writeTs(buf, at, bars);
  ends.push(at);
  for (const field of ['open', 'high', 'low', 'close', 'volume'] as const) {
    at = writeFloat8(buf, at, bars, field);
    ends.push(at);
  }
  at = writeText(buf, at, bars, 'source', src.bytes);
  ends.push(at);
  at = writeBool(buf, at, bars);
  ends.push(at);
  at = writeFloat8(buf, at, bars, 'quality');
  ends.push(at);
  return ends.map((end, i) => buf.subarray(i === 0 ? 0 : ends[i - 1], end));
}

/** COPY text format escaping (backslash, tab, newline, carriage return). */
function copyText(s: string): string {
  return /[\\\t\n\r]/.test(s)
    ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
    : s;
}

/**
 * Bars as COPY text-format lines in {@link BAR_COLUMNS} order, in chunks of about `chunkBytes`.
 * Numbers are written in JavaScript's shortest round-trip form, which float8 input reads back exactly.
 */
export function* copyChunks(bars: readonly Bar[], chunkBytes = 256 * 1024): Generator<string> {
  let chunk = '';
  for (const b of bars) {
    chunk +=
      `${copyText(b.symbol)}\t${b.timeframe}\t${b.ts}\t${b.open}\t${b.high}\t${b.low}\t${b.close}\t` +
      `${b.volume}\t${copyText(b.source)}\t${b.final ? 't' : 'f'}\t${b.quality}\n`;
    if (chunk.length >= chunkBytes) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** A bar read back with `rowMode: 'array'` in {@link BAR_COLUMNS} order (int8 parsed as number). */
export function rowToBar(r: unknown[]): Bar {
  return {
    symbol: r[0] as string,
    timeframe: r[1] as Timeframe,
    ts: r[2] as number,
    open: r[3] as number,
    high: r[4] as number,
    low: r[5] as number,
    close: r[6] as number,
    volume: r[7] as number,
    source: r[8] as SourceName,
    final: r[9] as boolean,
    quality: r[10] as number,
  };
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Longest symbol or source stored. A primary-key entry must fit a third of an 8 kB page; a row that
 * PostgreSQL refuses would fail its whole flush again on every retry, so such bars are refused here.
 */
export const MAX_NAME_LENGTH = 200;
const MIN_TS = Date.UTC(1900, 0, 1);
const MAX_TS = Date.UTC(10000, 0, 1);

/**
 * Why a bar cannot be stored, or null. Only what the schema needs is checked (shape, finite numbers,
 * integer ts); price plausibility is the validator's job. The rules of sqlite-store, plus what PostgreSQL
 * would refuse for the whole batch (NUL characters, over-long names, years without a partition).
 */
export function barProblem(bar: unknown): string | null {
  if (typeof bar !== 'object' || bar === null) return 'not an object';
  const b = bar as Record<string, unknown>;
  if (typeof b.symbol !== 'string' || b.symbol.length === 0) return 'symbol must be a non-empty string';
  if (b.symbol.includes('\u0000')) return 'symbol must not contain NUL';
  if (b.symbol.length > MAX_NAME_LENGTH) return `symbol longer than ${MAX_NAME_LENGTH} characters`;
  if (!isTimeframe(b.timeframe)) return `unknown timeframe ${JSON.stringify(b.timeframe)}`;
  if (!Number.isSafeInteger(b.ts)) return `ts must be an integer epoch ms, got ${String(b.ts)}`;
  // Every row needs a monthly partition; outside these years there is none to name.
  if ((b.ts as number) < MIN_TS || (b.ts as number) >= MAX_TS)
    return `ts ${String(b.ts)} is outside 1900-01-01..9999-12-31`;
  if (!isNum(b.open) || !isNum(b.high) || !isNum(b.low) || !isNum(b.close))
    return 'prices must be finite numbers';
  if (!isNum(b.volume) || b.volume < 0) return 'volume must be a finite number >= 0';
  if (typeof b.source !== 'string' || b.source.length === 0) return 'source must be a non-empty string';
  if (b.source.includes('\u0000')) return 'source must not contain NUL';
  if (b.source.length > MAX_NAME_LENGTH) return `source longer than ${MAX_NAME_LENGTH} characters`;
  if (typeof b.final !== 'boolean') return 'final must be a boolean';
  if (!isNum(b.quality)) return 'quality must be a finite number';
  return null;
}

// ------------------------------------------------------------------------------- partitions

/** Start of the UTC month containing `ts`, epoch ms. */
export function monthStart(ts: number): number {
  const d = new Date(ts);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** Start of the UTC month `n` months after the one starting at `start`. */
export function addMonths(start: number, n: number): number {
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1);
}

/** `bars_y2024m01`: the partition of the month starting at `start` (years before 1000 are padded). */
export function partitionName(start: number): string {
  const d = new Date(start);
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw new RangeError(`no partition for year ${y}`);
  return `bars_y${String(y).padStart(4, '0')}m${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The month starts a batch of bars touches, ascending. */
export function monthsOf(bars: Iterable<Pick<Bar, 'ts'>>): number[] {
  const out = new Set<number>();
  let lastLo = NaN;
  let lastHi = NaN;
  for (const b of bars) {
    if (b.ts >= lastLo && b.ts < lastHi) continue;
    lastLo = monthStart(b.ts);
    lastHi = addMonths(lastLo, 1);
    out.add(lastLo);
  }
  return [...out].sort((a, b) => a - b);
}

export function createPartitionSql(schema: string, start: number): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${schema}.${partitionName(start)} PARTITION OF ${schema}.bars ` +
    `FOR VALUES FROM (${start}) TO (${addMonths(start, 1)})`
  );
}

// ---------------------------------------------------------------------------------- gaps

const WEEK_MS = 7 * 86_400_000;
/** 1970-01-04 was a Sunday: FX weeks open at Sunday 22:00 UTC. */
const FX_ANCHOR = 3 * 86_400_000 + 22 * 3_600_000;
const FX_OPEN_MS = 5 * 86_400_000;

/**
 * Open sessions intersecting [$3, $4) as (s_from, s_to) epoch ms rows, per calendar. Same sessions as
 * sqlite-store's calendar functions; us-equity converts New York wall-clock times with PostgreSQL's
 * `AT TIME ZONE` (its own copy of the IANA database).
 */
function sessionsSql(calendar: HistoryCalendar): string {
  switch (calendar) {
    case '24x7':
      return 'SELECT $3::bigint AS s_from, $4::bigint AS s_to';
    case 'fx':
      return (
        `SELECT w AS s_from, w + ${FX_OPEN_MS} AS s_to FROM generate_series(` +
        `${FX_ANCHOR} + floor(($3::bigint - ${FX_ANCHOR})::numeric / ${WEEK_MS})::bigint * ${WEEK_MS}, ` +
        `$4::bigint, ${WEEK_MS}::bigint) AS w`
      );
    case 'us-equity':
      return (
        "SELECT (extract(epoch FROM ((g.d::date + time '09:30') AT TIME ZONE 'America/New_York')) * 1000)::bigint AS s_from, " +
        "(extract(epoch FROM ((g.d::date + time '16:00') AT TIME ZONE 'America/New_York')) * 1000)::bigint AS s_to " +
        "FROM generate_series((to_timestamp($3::bigint / 1000.0) AT TIME ZONE 'UTC')::date - 1, " +
        "(to_timestamp($4::bigint / 1000.0) AT TIME ZONE 'UTC')::date + 1, interval '1 day') AS g(d) " +
        'WHERE extract(isodow FROM g.d) < 6'
      );
    default:
      throw new Error(`unknown calendar ${String(calendar)}`);
  }
}

/**
 * Calendar-aware gaps of one series in one statement. Parameters: $1 symbol, $2 timeframe, $3 the
 * first aligned open time >= from, $4 to (exclusive), $5 the timeframe in ms. A bar is expected when
 * [ts, ts + step) overlaps an open session; runs of missing expected bars are grouped as islands
 * (row number among expected minus row number among missing is constant within a run), so a run may
 * span closed time, exactly as sqlite-store's gaps().
 */
export function gapsSql(schema: string, calendar: HistoryCalendar): string {
  return `WITH sessions AS (${sessionsSql(calendar)}),
expected AS (
  SELECT DISTINCT e.ts FROM sessions s,
    LATERAL generate_series(GREATEST($3::bigint, s.s_from - (((s.s_from % $5::bigint) + $5::bigint) % $5::bigint)),
                            LEAST($4::bigint, s.s_to) - 1, $5::bigint) AS e(ts)
),
stored AS (
  SELECT ts FROM ${schema}.bars WHERE symbol = $1 AND timeframe = $2 AND ts >= $3::bigint AND ts < $4::bigint
),
marked AS (
  SELECT e.ts, row_number() OVER (ORDER BY e.ts) AS rn, st.ts IS NULL AS missing
  FROM expected e LEFT JOIN stored st ON st.ts = e.ts
),
islands AS (
  SELECT ts, rn - row_number() OVER (ORDER BY ts) AS grp FROM marked WHERE missing
)
SELECT min(ts) AS gap_from, max(ts) + $5::bigint AS gap_to, count(*) AS missing
FROM islands GROUP BY grp ORDER BY gap_from`;
}

/** The first open time of `timeframe` at or after `from`. */
export function firstAligned(from: number, timeframe: Timeframe): number {
  const a = alignTs(from, timeframe);
  return a === from ? from : a + TIMEFRAME_MS[timeframe];
}
