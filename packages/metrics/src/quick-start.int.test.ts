// Runs the README's quick start exactly as a user would, so the documented code keeps working.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const pkgDir = join(__dirname, '..');
const tsx = join(pkgDir, '../../node_modules/.bin/tsx');

it('examples/quick-start.ts runs and prints the scrape-time gauges', async () => {
  const { stdout } = await run(tsx, ['examples/quick-start.ts'], { cwd: pkgDir, timeout: 30_000 });
  expect(stdout).toMatch(/^pipeline_data_age_seconds\{instance="demo",symbol="EURUSD"\} 4(\.\d+)?$/m);
  expect(stdout).toContain('pipeline_pending_writes{instance="demo"} 42');
  expect(stdout).toContain('pipeline_breaker_state{instance="demo",source="polygon",state="open"} 1');
  expect(stdout).toContain(
    'pipeline_fetch_errors_total{instance="demo",source="polygon",kind="rate_limited"} 1',
  );
  expect(stdout).toContain('families in JSON: 24');
});

it('the README shows examples/quick-start.ts verbatim, importing only this package', () => {
  const example = readFileSync(join(pkgDir, 'examples/quick-start.ts'), 'utf8');
  const code = example.slice(example.indexOf('import ')).trimEnd();
  expect(readFileSync(join(pkgDir, 'README.md'), 'utf8')).toContain(code);
  expect(code).not.toMatch(/from '@pipeline\/(?!metrics')/);
});
