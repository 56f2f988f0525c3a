import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * The workspace root (the folder holding pnpm-workspace.yaml), searched upwards from this file when
 * it runs as CommonJS (jest) and from the working directory otherwise (ESM scripts under tsx).
 */
export function repoRoot(): string {
  const start = typeof __dirname === 'string' ? __dirname : process.cwd();
  let dir = start;
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`pnpm-workspace.yaml not found above ${start}`);
    dir = up;
  }
  return dir;
}

/** `../shared/fixtures` beside the clone, or `PIPELINE_FIXTURES_DIR`. */
export function fixturesDir(): string {
  const dir = process.env.PIPELINE_FIXTURES_DIR ?? resolve(repoRoot(), '..', 'shared', 'fixtures');
  if (!existsSync(dir)) throw new Error(`recorded fixtures not found at ${dir} (set PIPELINE_FIXTURES_DIR)`);
  return dir;
}

/** Raw bytes of a recorded fixture, e.g. `yahoo/chart-EURUSD_X-1d-2020-full-year.json`. */
export function readFixture(relPath: string): string {
  return readFileSync(join(fixturesDir(), relPath), 'utf8');
}

export interface FixtureManifestEntry {
  file: string;
  provider: string;
  endpoint: string;
  request_url: string;
  http_status: number | null;
  content_type: string;
  notes: string;
}

/** The entries of fixtures/manifest.json (HTTP status and request URL of every recording). */
export function fixtureManifest(): FixtureManifestEntry[] {
  return JSON.parse(readFileSync(join(fixturesDir(), 'manifest.json'), 'utf8')) as FixtureManifestEntry[];
}

const tempDirs: string[] = [];

/** A fresh directory under the OS temp dir, removed by {@link cleanupTempDirs}. */
export function tempDir(prefix = 'pipeline-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** A path for a fresh SQLite file in its own temp directory (the file itself does not exist yet). */
export function tempSqlitePath(name = 'test'): string {
  return join(tempDir('pipeline-sqlite-'), `${name}.db`);
}

export function cleanupTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
