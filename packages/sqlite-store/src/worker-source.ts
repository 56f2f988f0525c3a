/**
 * Source of the writer thread, kept as plain CommonJS so that it runs unchanged from src (jest, tsx)
 * and from both builds (dist/index.js, dist/index.cjs) through `new Worker(code, { eval: true })`:
 * worker threads bypass jest's transform and tsup does not bundle a second entry for them.
 *
 * Protocol (parent -> worker on parentPort): { seq, kind: 'write', flat } | { kind: 'close' }.
 * Replies go to workerData.port: { seq, ok, rows, ms, error? }; after each reply the worker adds 1 to
 * Int32Array(workerData.ctrl)[0] and notifies, so the parent can block on it with Atomics.wait when
 * its buffer is full (back-pressure without an event-loop turn).
 */
export const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const Database = require(workerData.driverPath);
const W = 11;
const port = workerData.port;
const ctrl = new Int32Array(workerData.ctrl);
const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs });
for (const p of workerData.pragmas) db.pragma(p);
const n = workerData.rowsPerStatement;
const chunkStmt = db.prepare(workerData.chunkSql);
const oneStmt = db.prepare(workerData.oneSql);
const seriesStmt = db.prepare(workerData.seriesSql);
const tx = db.transaction((flat) => {
  const rows = flat.length / W;
  let i = 0;
  for (; i + n <= rows; i += n) chunkStmt.run(flat.slice(i * W, (i + n) * W));
  for (; i < rows; i++) oneStmt.run(flat.slice(i * W, (i + 1) * W));
  let lastSymbol, lastTf;
  const seen = new Set();
  for (let r = 0; r < flat.length; r += W) {
    const symbol = flat[r], tf = flat[r + 1];
    if (symbol === lastSymbol && tf === lastTf) continue;
    lastSymbol = symbol; lastTf = tf;
    const key = symbol + '|' + tf;
    if (seen.has(key)) continue;
    seen.add(key);
    seriesStmt.run(symbol, tf);
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
    tx(msg.flat);
    reply({ seq: msg.seq, ok: true, rows: msg.flat.length / W, ms: performance.now() - t0 });
  } catch (e) {
    reply({ seq: msg.seq, ok: false, rows: msg.flat.length / W, ms: performance.now() - t0,
      error: { message: String(e && e.message), code: e && e.code } });
  }
});
`;
