import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// Node reports listener leaks on the real process only (not inside jest's sandbox), so this runs
// the registry in a child process and reads its stderr.
describe('many concurrent calls without a caller signal', () => {
  it('run 50 at once without a MaxListenersExceededWarning', () => {
    const script = `
      import { createBreakerRegistry } from ${JSON.stringify(join(__dirname, 'index.ts'))};
      const breakers = createBreakerRegistry();
      let release;
      const gate = new Promise((r) => (release = r));
      const calls = Array.from({ length: 50 }, (_, i) => breakers.execute('yahoo', async () => gate.then(() => i)));
      setImmediate(async () => {
        release();
        const results = await Promise.all(calls);
        await breakers.close();
        console.log('done', results.length);
      });
    `;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: __dirname,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.stdout.trim()).toBe('done 50');
    expect(res.stderr).not.toMatch(/MaxListenersExceededWarning/);
  });
});
