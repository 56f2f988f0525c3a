// The soak (see soak-run.ts): 500 synthetic symbols for SOAK_SECONDS (600 on CI, 60 locally by
// default). Memory must stay flat after warm-up, the event loop responsive and no cycle overrun.
// It runs soak.ts as a child process (node --import tsx), as the service runs in production:
// inside jest's module sandbox the same cycle measured 4-7x slower, which would test jest.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTempDirs, tempDir } from '@pipeline/test-utils';
import { APP_DIR } from './helpers';
import { SOAK_LIMITS, soakSecondsFromEnv, type SoakResult } from './soak-run';

const seconds = soakSecondsFromEnv();

describe(`soak: 500 synthetic symbols for ${seconds} s`, () => {
  let result: SoakResult;
  beforeAll(
    async () => {
      const file = join(tempDir('pipeline-soak-'), 'soak-result.json');
      const child = spawn(process.execPath, ['--import', 'tsx', 'reliability/soak.ts'], {
        cwd: APP_DIR,
        env: {
          PATH: process.env.PATH ?? '',
          SOAK_SECONDS: String(seconds),
          SOAK_SYMBOLS: '500',
          SOAK_RESULT_FILE: file,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      if (code !== 0) throw new Error(`soak exited with ${code}:\n${out}`);
      result = JSON.parse(readFileSync(file, 'utf8')) as SoakResult;
      console.log(
        JSON.stringify(
          { ...result, heapTrendMb: result.heapTrendMb.join(' '), rssTrendMb: result.rssTrendMb.join(' ') },
          null,
          2,
        ),
      );
    },
    (seconds + 120) * 1_000,
  );
  afterAll(() => cleanupTempDirs());

  it('ran every cycle for every symbol', () => {
    // A 1 s loop: about one cycle per second of the measured span, each serving all 500 symbols.
    expect(result.symbols).toBe(500);
    expect(result.cycles).toBeGreaterThanOrEqual((seconds - result.warmupSeconds) * 0.9);
    expect(result.failedSymbolCycles).toBe(0);
    expect(result.barsWritten).toBeGreaterThanOrEqual(result.cycles * 500);
  });

  it('never overran a cycle', () => {
    expect(result.overruns).toBe(SOAK_LIMITS.overruns);
    expect(result.cycleMs.max).toBeLessThan(1_000);
  });

  it(`keeps the event-loop delay p99 under ${SOAK_LIMITS.eventLoopP99Ms} ms`, () => {
    expect(result.eventLoopMs.p99).toBeLessThan(SOAK_LIMITS.eventLoopP99Ms);
  });

  it('keeps memory flat after warm-up (heap after a full GC, and RSS)', () => {
    expect(result.heapMb.growth).toBeLessThan(result.heapMb.limit);
    expect(result.rssMb.growth).toBeLessThan(result.rssMb.limit);
  });
});
