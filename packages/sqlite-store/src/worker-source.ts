/**
 * Source of the writer thread, kept as plain CommonJS so that it runs unchanged from src (jest, tsx)
 * and from both builds (dist/index.js, dist/index.cjs) through `new Worker(code, { eval: true })`:
 * worker threads bypass jest's transform and tsup does not bundle a second entry for them.
 *
 * workerData carries the row layout (`width`, `stringColumns`) so that the bar tuple is defined once, in
 * @pipeline/core. Protocol (parent -> worker on parentPort): { seq, kind: 'write', data, strings } | { kind: 'close' }.
 * Replies go to workerData.port: { seq, ok, rows, ms, error? }; after each reply the worker adds 1 to
 * Int32Array(workerData.ctrl)[0] and notifies, so the parent can block on it with Atomics.wait when
 * its buffer is full (back-pressure without an event-loop turn).
 */
export const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const Database = require(workerData.driverPath);
// Row layout (core's bar tuple) from the parent: values per row and the string columns.
const W = workerData.width;
const [SYM, TF, SRC] = workerData.stringColumns;
const port = workerData.port;
const ctrl = new Int32Array(workerData.ctrl);
const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs });
for (const p of workerData.pragmas) db.pragma(p);
const n = workerData.rowsPerStatement;
const chunkStmt = db.prepare(workerData.chunkSql);
const sharedStmt = db.prepare(workerData.sharedSql);
const oneStmt = db.prepare(workerData.oneSql);
const seriesStmt = db.prepare(workerData.seriesSql);
// The string columns, which a series shares (bound once per statement by sharedSql), and the row's own.
const SHARED = workerData.stringColumns;
const OWN = [];
for (let c = 0; c < W; c++) if (!SHARED.includes(c)) OWN.push(c);
// Values bound as the call's arguments: an array argument costs a V8 property lookup per value
// (about a quarter of this thread's time). Past MAX_SPREAD values (large rowsPerStatement) the
// call would take a deep stack, so those are bound as an array.
const MAX_SPREAD = 8192;
function run(stmt, values) {
  return values.length <= MAX_SPREAD ? stmt.run(...values) : stmt.run(values);
}
// Rows arrive as one Float64Array with W values per row; the string columns (symbol, timeframe,
// source) hold indexes into msg.strings.
function decode(data, strings, from, count) {
  const out = new Array(count * W);
  for (let k = 0, o = from * W; k < out.length; k++, o++) {
    const c = k % W;
    out[k] = c === SYM || c === TF || c === SRC ? strings[data[o]] : data[o];
  }
  return out;
}
// True when the count rows from row from share symbol, timeframe and source (equal string indexes:
// the parent interns each string once per batch).
function sharesSeries(data, from, count) {
  const a = from * W;
  for (let o = a + W, end = (from + count) * W; o < end; o += W) {
    for (const c of SHARED) if (data[o + c] !== data[a + c]) return false;
  }
  return true;
}
// sharedSql's parameters: the shared strings once, then each row's own columns.
function decodeShared(data, strings, from, count) {
  const out = new Array(SHARED.length + count * OWN.length);
  const a = from * W;
  let k = 0;
  for (const c of SHARED) out[k++] = strings[data[a + c]];
  for (let o = a, end = (from + count) * W; o < end; o += W) {
    for (const c of OWN) out[k++] = data[o + c];
  }
  return out;
}
const tx = db.transaction((data, strings) => {
  const rows = data.length / W;
  let i = 0;
  for (; i + n <= rows; i += n) {
    if (sharesSeries(data, i, n)) run(sharedStmt, decodeShared(data, strings, i, n));
    else run(chunkStmt, decode(data, strings, i, n));
  }
  for (; i < rows; i++) run(oneStmt, decode(data, strings, i, 1));
  // Series seen in this batch, by (symbol index, timeframe index).
  let lastSymbol = -1, lastTf = -1;
  const seen = new Set();
  for (let r = 0; r < data.length; r += W) {
    const symbol = data[r + SYM], tf = data[r + TF];
    if (symbol === lastSymbol && tf === lastTf) continue;
    lastSymbol = symbol; lastTf = tf;
    const key = symbol + ':' + tf;
    if (seen.has(key)) continue;
    seen.add(key);
    seriesStmt.run(strings[symbol], strings[tf]);
  }
});
function reply(msg) {
  port.postMessage(msg);
  Atomics.add(ctrl, 0, 1);
  Atomics.notify(ctrl, 0);
}
parentPort.on('message', (msg) => {
  if (msg.kind === 'close') {
    db.close();
    port.close();
    parentPort.close();
    return;
  }
  const t0 = performance.now();
  try {
    tx(msg.data, msg.strings);
    reply({ seq: msg.seq, ok: true, rows: msg.data.length / W, ms: performance.now() - t0 });
  } catch (e) {
    reply({ seq: msg.seq, ok: false, rows: msg.data.length / W, ms: performance.now() - t0,
      error: { message: String(e && e.message), code: e && e.code } });
  }
});
`;
