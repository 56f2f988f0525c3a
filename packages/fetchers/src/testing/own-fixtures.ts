import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FixtureReply } from '@pipeline/test-utils';

/** This package's hand-made recordings in today's documented shapes (see fixtures/PROVENANCE.md). */
export const OWN_FIXTURES_DIR = join(__dirname, '..', '..', 'fixtures');

/** The text of one of this package's own recordings, e.g. `alphavantage/notice-demo-key.json`. */
export function readOwnFixture(relPath: string): string {
  return readFileSync(join(OWN_FIXTURES_DIR, relPath), 'utf8');
}

/** A fixture-server reply serving one of this package's own recordings (HTTP 200 unless overridden). */
export function ownFixtureReply(relPath: string, overrides: Partial<FixtureReply> = {}): FixtureReply {
  const type = relPath.endsWith('.csv') ? 'text/csv' : 'application/json';
  return { status: 200, headers: { 'content-type': type }, body: readOwnFixture(relPath), ...overrides };
}
