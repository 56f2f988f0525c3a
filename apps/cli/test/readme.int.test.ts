// Runs every line of the README's examples block verbatim, with `pipeline` on PATH (a link to the
// built bin) and Yahoo requests going to a fixture server in Yahoo's format.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@pipeline/test-utils';
import { readParquet } from '../src/writers';
import { BIN, cleanEnv, setUpBinSuite, type YahooFixture } from './helpers';

jest.setTimeout(180_000);

let yahoo: YahooFixture;
setUpBinSuite((y) => (yahoo = y));

function examples(): string[] {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const at = readme.indexOf('<!-- readme-examples:');
  expect(at).toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  return block![1]!.trim().split('\n');
}

it('runs the README examples verbatim', async () => {
  const lines = examples();
  expect(lines.length).toBe(5);
  const dir = tempDir('cli-readme-');
  const binDir = join(dir, '.bin');
  mkdirSync(binDir);
  symlinkSync(BIN, join(binDir, 'pipeline'));
  const env = cleanEnv({ PATH: `${binDir}:${process.env.PATH}`, YAHOO_BASE_URL: yahoo.url });
  const outputs: string[] = [];
  for (const line of lines) {
    // async exec so that the fixture server in this process keeps answering
    outputs.push(
      await new Promise<string>((resolve, reject) => {
        execFile('bash', ['-c', line], { env, cwd: dir, maxBuffer: 1 << 24 }, (err, stdout, stderr) =>
          err ? reject(new Error(`${line}\nfailed: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
        );
      }),
    );
  }
  const parquet = await readParquet(join(dir, 'eurusd-aapl.parquet'));
  expect(new Set(parquet.map((b) => b.symbol))).toEqual(new Set(['EURUSD', 'AAPL']));
  expect(parquet.length).toBeGreaterThan(2 * 30 * 1440 - 1450);
  expect(existsSync(join(dir, 'synthetic.csv'))).toBe(true);
  expect((await readParquet(join(dir, 'eurusd-5m.parquet'))).length).toBe(7 * 288);
  expect(outputs[4]).toMatch(/provider synthetic\s+ok/);
});
