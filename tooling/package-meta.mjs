#!/usr/bin/env node
// The publishing hygiene every published package shares, in one place: the root LICENSE copied into
// the package, `license`, `repository` (with `directory`), `homepage`, `bugs`, `files` (dist, README,
// CHANGELOG, LICENSE and the examples/ folder when there is one), and a CHANGELOG.md in the format
// `changeset version` appends to. `node tooling/package-meta.mjs` checks and exits 1 on drift (run
// by `pnpm release:verify`); `--write` fixes it (only those fields are touched, in place).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { publishablePackages, root } from './lib.mjs';

export const REPOSITORY = 'https://github.com/market-data-pipeline/pipeline';

/** What the hygiene fields of one package must be. */
export function expectedFields(dir) {
  const directory = relative(root, dir).split('\\').join('/');
  const files = ['dist', 'README.md', 'CHANGELOG.md', 'LICENSE'];
  if (existsSync(join(dir, 'examples'))) files.push('examples');
  return {
    license: 'MIT',
    repository: { type: 'git', url: `git+${REPOSITORY}.git`, directory },
    homepage: `${REPOSITORY}/tree/main/${directory}#readme`,
    bugs: { url: `${REPOSITORY}/issues` },
    files,
  };
}

/** package.json with the hygiene fields set; the other fields keep their order, new ones follow `license`. */
function withFields(pkg, fields) {
  const out = {};
  for (const [key, value] of Object.entries(pkg)) {
    if (key in fields && key !== 'license' && key !== 'files') continue;
    out[key] = key in fields ? fields[key] : value;
    if (key === 'license') {
      out.repository = fields.repository;
      out.homepage = fields.homepage;
      out.bugs = fields.bugs;
    }
  }
  for (const key of Object.keys(fields)) if (!(key in out)) out[key] = fields[key];
  return out;
}

/** The first CHANGELOG of a package, in the layout `changeset version` writes and then prepends to. */
export const initialChangelog = (name, version) => `# ${name}\n\n## ${version}\n\n- Initial release.\n`;

/** Problems of every publishable package (empty: all good); with write, fixes them. */
export function packageMeta({ write = false } = {}) {
  const license = readFileSync(join(root, 'LICENSE'), 'utf8');
  const problems = [];
  for (const { name, dir } of publishablePackages()) {
    const file = join(dir, 'package.json');
    const text = readFileSync(file, 'utf8');
    const pkg = JSON.parse(text);
    const fields = expectedFields(dir);
    for (const [key, value] of Object.entries(fields)) {
      if (JSON.stringify(pkg[key]) !== JSON.stringify(value)) {
        problems.push(`${name}: package.json "${key}" should be ${JSON.stringify(value)}`);
      }
    }
    if (write) {
      const next = `${JSON.stringify(withFields(pkg, fields), null, 2)}\n`;
      if (next !== text) writeFileSync(file, next);
    }
    const own = join(dir, 'LICENSE');
    if (!existsSync(own) || readFileSync(own, 'utf8') !== license) {
      problems.push(`${name}: LICENSE missing or different from the root LICENSE`);
      if (write) writeFileSync(own, license);
    }
    const changelog = join(dir, 'CHANGELOG.md');
    if (!existsSync(changelog)) {
      problems.push(`${name}: no CHANGELOG.md`);
      if (write) writeFileSync(changelog, initialChangelog(name, pkg.version));
    } else if (!readFileSync(changelog, 'utf8').startsWith(`# ${name}\n`)) {
      problems.push(`${name}: CHANGELOG.md does not start with "# ${name}"`);
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const write = process.argv.includes('--write');
  const problems = packageMeta({ write });
  if (write) {
    console.log(problems.length ? `fixed:\n  ${problems.join('\n  ')}` : 'nothing to fix');
  } else if (problems.length) {
    console.error(`${problems.join('\n')}\n\nrun: node tooling/package-meta.mjs --write`);
    process.exit(1);
  } else {
    console.log('package metadata, LICENSE and CHANGELOG of every published package are in place');
  }
}
