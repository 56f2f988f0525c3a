// Small helpers shared by the tooling scripts.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Folders of the workspace that hold publishable packages (pnpm-workspace.yaml lists these and `deploy`, which is private). */
export const PACKAGE_GROUPS = ['packages', 'apps'];

/**
 * Publishable workspace packages: { name, dir, pkg } for every package.json under packages/* and
 * apps/* that is not `"private": true` (the sidecar, test-utils and deploy are private). Libraries
 * first, then apps, each group in folder order.
 */
export function publishablePackages() {
  return PACKAGE_GROUPS.flatMap((group) =>
    existsSync(join(root, group))
      ? readdirSync(join(root, group))
          .sort()
          .map((d) => join(root, group, d))
      : [],
  )
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
    .filter(({ pkg }) => !pkg.private)
    .map(({ dir, pkg }) => ({ name: pkg.name, dir, pkg }));
}

/** A package's binaries ({ command: file }) from its package.json `bin` (a string means one named after the package). */
export function binsOf(pkg) {
  if (!pkg.bin) return {};
  if (typeof pkg.bin === 'string') return { [pkg.name.replace(/^@[^/]+\//, '')]: pkg.bin };
  return { ...pkg.bin };
}

/** Whether a package has a library entry (an `exports` "." or `main`) rather than being bin-only. */
export function hasLibraryEntry(pkg) {
  const exp = pkg.exports;
  if (typeof exp === 'string') return true;
  if (exp && typeof exp === 'object') return '.' in exp || Object.keys(exp).every((k) => !k.startsWith('.'));
  return Boolean(pkg.main || pkg.module);
}

/** Runs a command, streaming its output; throws when it fails. */
export function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (res.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed with exit code ${res.status ?? res.signal}`);
  }
  return res;
}

/** Runs a command and returns its stdout; throws with its output when it fails. */
export function capture(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (res.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${res.status}):\n${res.stdout}\n${res.stderr}`);
  }
  return res.stdout;
}
