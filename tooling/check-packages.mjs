#!/usr/bin/env node
// Packs every publishable package (packages/* and the public apps/*, see tooling/lib.mjs) exactly as
// `pnpm publish` would and checks the tarball: publint (package.json, exports, bin, files) and
// are-the-types-wrong (types for import and require) when the package has a library entry; for each
// `bin`, that the tarball holds the file and that it starts with a `#!/usr/bin/env node` line (npm
// links it as an executable; without the line a shell cannot run it). Run after `pnpm build`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binsOf, hasLibraryEntry, publishablePackages, run, root } from './lib.mjs';

const out = mkdtempSync(join(tmpdir(), 'pipeline-pack-'));
const bin = (name) => join(root, 'node_modules', '.bin', name);
// `node tooling/check-packages.mjs cli validator`: only these (short or full names).
const names = process.argv.slice(2).map((n) => (n.startsWith('@') ? n : `@pipeline/${n}`));
const packages = publishablePackages().filter((p) => !names.length || names.includes(p.name));
if (names.length !== 0 && packages.length !== names.length) {
  console.error(`unknown package in: ${names.join(', ')}`);
  process.exit(2);
}
let failed = 0;
try {
  for (const { name, dir, pkg } of packages) {
    const before = new Set(readdirSync(out));
    run('pnpm', ['pack', '--pack-destination', out], { cwd: dir, stdio: 'ignore' });
    const tarball = readdirSync(out).find((f) => !before.has(f));
    console.log(`\n== ${name} (${tarball})`);
    try {
      run(bin('publint'), ['run', join(out, tarball), '--strict']);
      // node10 resolution is irrelevant for engines >= 20; check node16 (CJS and ESM) and bundler.
      if (hasLibraryEntry(pkg)) {
        run(bin('attw'), [join(out, tarball), '--profile', 'node16', '--format', 'table-flipped']);
      } else {
        console.log('are-the-types-wrong: skipped (bin-only package, no library entry)');
      }
      for (const [command, file] of Object.entries(binsOf(pkg))) {
        const path = `package/${file.replace(/^\.\//, '')}`;
        const head = spawnSync('tar', ['-xzOf', join(out, tarball), path], { encoding: 'utf8' });
        if (head.status !== 0) throw new Error(`bin "${command}": ${file} is not in the tarball`);
        if (!head.stdout.startsWith('#!/usr/bin/env node\n')) {
          throw new Error(`bin "${command}": ${file} does not start with "#!/usr/bin/env node"`);
        }
        console.log(`bin "${command}": ${file} is in the tarball, with its #!/usr/bin/env node line`);
      }
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
