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
const oneStmt = db.prepare(workerData.oneSql);
const seriesStmt = db.prepare(workerData.seriesSql);
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
const tx = db.transaction((data, strings) => {
  const rows = data.length / W;
  let i = 0;
  for (; i + n <= rows; i += n) chunkStmt.run(decode(data, strings, i, n));
  for (; i < rows; i++) oneStmt.run(decode(data, strings, i, 1));
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
