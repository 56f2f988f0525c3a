import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cleanupTempDirs, tempSqlitePath } from '@pipeline/test-utils';

const run = promisify(execFile);
const PKG = join(__dirname, '..');

// The writer thread runs outside jest's transform, so prove it from bundled ESM and CJS output too.
// Built into a folder inside the package so that better-sqlite3 resolves as it does from dist/.
describe('bundled builds run the worker writer', () => {
  let out: string;
  beforeAll(async () => {
    out = mkdtempSync(join(PKG, '.tmp-dist-'));
    await run(
      process.execPath,
      [
        require.resolve('tsup/dist/cli-default.js', { paths: [PKG] }),
        'src/index.ts',
        '--no-config',
        '--format',
        'esm,cjs',
        '--platform',
        'node',
        '--target',
        'node20',
        '--external',
        'better-sqlite3',
        '--out-dir',
        out,
        '--silent',
      ],
      { cwd: PKG },
    );
  }, 60_000);
  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
    cleanupTempDirs();
  });

  const script = (load: string) => `${load}
(async () => {
  const s = createSqliteStore({ path: process.argv[2], mode: 'worker' });
  const errors = [];
  s.onError((e) => errors.push(e.code));
  s.write([{ symbol: 'A', timeframe: '1m', ts: 60000, open: 1, high: 1, low: 1, close: 1, volume: 0, source: 'replay', final: true, quality: 1 }]);
  const flushed = await s.flush();
  const rows = s.latest('A', '1m', 5).length;
  const fallback = s.stats().workerFallback;
  await s.close();
  console.log(JSON.stringify({ mode: flushed.mode, rows, fallback, errors }));
})();`;

  it.each([
    ['esm', 'mjs', "import { createSqliteStore } from './index.js';"],
    ['cjs', 'cjs', "const { createSqliteStore } = require('./index.cjs');"],
  ])('%s', async (_name, ext, load) => {
    const file = join(out, `check.${ext}`);
    writeFileSync(file, script(load));
    const { stdout } = await run(process.execPath, [file, tempSqlitePath('dist')]);
    expect(JSON.parse(stdout)).toEqual({ mode: 'worker', rows: 1, fallback: false, errors: [] });
  });
});
