// Issue 15: a script whose top-level `await breakers.execute(...)` waits in a retry must not exit
// silently with code 13 (Node: "unsettled top-level await"): with the default clock the retry wait
// keeps the process alive, as cockatiel's does. Run in a real child process.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const pkgDir = join(__dirname, '..');
const tsx = join(pkgDir, '../../node_modules/.bin/tsx');

function run(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      tsx,
      ['test/scripts/top-level-retry.mts', ...args],
      { cwd: pkgDir, timeout: 30_000 },
      (error, stdout) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout }),
    );
  });
}

it('with the default clock, a top-level await in a retry wait finishes the call (exit 0)', async () => {
  expect(await run([])).toEqual({ code: 0, stdout: 'filled after 2 calls\n' });
});

it('the same script with an unref-only clock exits 13 mid-wait: what the default prevents', async () => {
  expect(await run(['unref-clock'])).toEqual({ code: 13, stdout: '' });
});
