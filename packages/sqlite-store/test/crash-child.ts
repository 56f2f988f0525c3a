// Child process for crash.int.test.ts: writes bars through the store and reports progress on stdout.
//   kill mode: flushes after every batch and prints "flushed <rows>" once a flush is committed.
//   term mode: writes quickly with a short flush interval; on SIGTERM closes the store and prints
//              "closed <rows written>".
import { createSqliteStore, type WriteMode } from '../src/index';
import { makeBars } from './helpers';

const [path, mode, action] = process.argv.slice(2) as [string, WriteMode, 'kill' | 'term'];
const T0 = Date.UTC(2024, 0, 1);
const BATCH = 250;
const store = createSqliteStore({ path, mode, flushIntervalMs: action === 'term' ? 15 : 60_000 });
let written = 0;
let stopping = false;

process.on('SIGTERM', () => {
  stopping = true;
  store.close().then(
    () => {
      process.stdout.write(`closed ${written}\n`);
      process.exit(0);
    },
    (e: unknown) => {
      process.stdout.write(`close failed ${String(e)}\n`);
      process.exit(1);
    },
  );
});

async function loop(): Promise<void> {
  while (!stopping) {
    store.write(makeBars(BATCH, {}, '1m', T0 + written * 60_000));
    written += BATCH;
    if (action === 'kill') {
      await store.flush();
      process.stdout.write(`flushed ${written}\n`);
      // Rows after the last report are pending only: a SIGKILL may lose them, never flushed ones.
    } else {
      process.stdout.write(`written ${written}\n`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}

void loop();
