#!/usr/bin/env node
// Packs every publishable package exactly as `pnpm publish` would and checks the tarball:
// publint (package.json, exports, files) and are-the-types-wrong (types for import and require).
// Run after `pnpm build`.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishablePackages, run, root } from './lib.mjs';

const out = mkdtempSync(join(tmpdir(), 'pipeline-pack-'));
const bin = (name) => join(root, 'node_modules', '.bin', name);
let failed = 0;
try {
  for (const { name, dir } of publishablePackages()) {
    const before = new Set(readdirSync(out));
    run('pnpm', ['pack', '--pack-destination', out], { cwd: dir, stdio: 'ignore' });
    const tarball = readdirSync(out).find((f) => !before.has(f));
    console.log(`\n== ${name} (${tarball})`);
    try {
      run(bin('publint'), ['run', join(out, tarball), '--strict']);
      // node10 resolution is irrelevant for engines >= 20; check node16 (CJS and ESM) and bundler.
      run(bin('attw'), [join(out, tarball), '--profile', 'node16', '--format', 'table-flipped']);
    } catch (err) {
      failed++;
      console.error(String(err.message ?? err));
    }
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
if (failed) {
  console.error(`\n${failed} package(s) failed the package checks`);
  process.exit(1);
}
console.log('\nall packages pass publint and are-the-types-wrong');
