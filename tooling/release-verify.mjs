#!/usr/bin/env node
// Proves the release flow end to end: starts a private npm registry (verdaccio) on 127.0.0.1,
// publishes every package to it with pnpm (workspace:^ ranges become real versions), then installs
// them into a scratch project outside the workspace and loads each one with both `import` and
// `require`. Run after `pnpm build`. Set VERDACCIO_VERSION to try another registry version.
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capture, publishablePackages, root, run } from './lib.mjs';

const VERDACCIO = `verdaccio@${process.env.VERDACCIO_VERSION ?? '6.8.0'}`; // last line that runs on Node 20
const work = mkdtempSync(join(tmpdir(), 'pipeline-release-'));
const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const registry = `http://127.0.0.1:${port}/`;

writeFileSync(
  join(work, 'config.yaml'),
  `storage: ${join(work, 'storage')}
auth:
  htpasswd:
    file: ${join(work, 'htpasswd')}
uplinks:
  npmjs:
    url: https://registry.npmjs.org/
packages:
  '@pipeline/*':
    access: $all
    publish: $authenticated
  '**':
    access: $all
    proxy: npmjs
log: { type: stdout, format: pretty, level: warn }
`,
);

// Installed into a scratch folder rather than the workspace: the registry is a tool of this check,
// not a dependency of any package. One of its dependencies asks for the `cjs` dist-tag of
// node-fetch, which some registry mirrors lack; node-fetch 2.7.0 is what that tag points at.
const toolDir = join(work, 'verdaccio');
mkdirSync(toolDir);
writeFileSync(
  join(toolDir, 'package.json'),
  JSON.stringify({
    name: 'registry-tool',
    private: true,
    dependencies: { verdaccio: VERDACCIO.split('@')[1] },
    overrides: { 'node-fetch': '2.7.0' },
  }),
);
console.log(`installing ${VERDACCIO}`);
run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: toolDir });
console.log(`starting ${VERDACCIO} on ${registry}`);
const server = spawn(
  join(toolDir, 'node_modules', '.bin', 'verdaccio'),
  ['--config', join(work, 'config.yaml'), '--listen', `127.0.0.1:${port}`],
  {
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  },
);
const stop = () => {
  try {
    process.kill(-server.pid, 'SIGTERM');
  } catch {
    // already gone
  }
};
process.on('exit', stop);

/**
 * Gives the consumer's better-sqlite3 its compiled addon: copied from the workspace's build when the
 * versions match (the same source compiled on the same machine), otherwise built with `npm rebuild`.
 */
function provideNativeAddon(consumer, env) {
  const target = join(consumer, 'node_modules', 'better-sqlite3');
  if (!existsSync(target)) return;
  const version = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')).version;
  const built = join(
    root,
    'node_modules',
    '.pnpm',
    `better-sqlite3@${version}`,
    'node_modules',
    'better-sqlite3',
    'build',
    'Release',
    'better_sqlite3.node',
  );
  if (existsSync(built)) {
    mkdirSync(join(target, 'build', 'Release'), { recursive: true });
    copyFileSync(built, join(target, 'build', 'Release', 'better_sqlite3.node'));
    console.log(`better-sqlite3 ${version}: reusing the workspace's compiled addon`);
  } else {
    run('npm', ['rebuild', 'better-sqlite3'], { cwd: consumer, env });
  }
}

try {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      if ((await fetch(`${registry}-/ping`)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('verdaccio did not start within 180 s');
    await new Promise((r) => setTimeout(r, 500));
  }

  // A throwaway user for this registry; a team's internal registry gives a token the same way.
  const res = await fetch(`${registry}-/user/org.couchdb.user:release`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'release', password: 'release-verify-only' }),
  });
  const { token } = await res.json();
  if (!token) throw new Error(`could not create a registry user: HTTP ${res.status}`);
  const npmrc = join(work, '.npmrc');
  writeFileSync(npmrc, `registry=${registry}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
  const env = { ...process.env, npm_config_userconfig: npmrc, npm_config_registry: registry };

  // RELEASE_VERIFY_PACKAGES=@pipeline/core,... limits the run (for a quick check of the flow).
  const only = process.env.RELEASE_VERIFY_PACKAGES?.split(',').filter(Boolean);
  const packages = publishablePackages().filter((p) => !only || only.includes(p.name));
  for (const { name, dir } of packages) {
    console.log(`publishing ${name}`);
    run('pnpm', ['publish', '--registry', registry, '--no-git-checks', '--access', 'public'], {
      cwd: dir,
      env,
    });
  }

  const consumer = join(work, 'consumer');
  run('mkdir', ['-p', consumer]);
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }),
  );
  console.log('installing every package from the registry into a scratch project');
  // Install scripts are skipped and native addons handled below: better-sqlite3 would otherwise
  // compile from source for minutes on a machine without internet (with internet it downloads a
  // prebuilt binary, which is what a user gets).
  run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...packages.map((p) => p.name)], {
    cwd: consumer,
    env,
  });
  provideNativeAddon(consumer, env);

  const names = JSON.stringify(packages.map((p) => p.name));
  writeFileSync(
    join(consumer, 'check.cjs'),
    `const out = {};
for (const name of ${names}) {
  const m = require(name);
  const keys = Object.keys(m).sort();
  if (keys.length === 0) throw new Error(name + ': require() gave no exports');
  out[name] = keys;
}
process.stdout.write(JSON.stringify(out));
`,
  );
  writeFileSync(
    join(consumer, 'check.mjs'),
    `const out = {};
for (const name of ${names}) {
  const m = await import(name);
  const keys = Object.keys(m).filter((k) => k !== 'default').sort();
  if (keys.length === 0) throw new Error(name + ': import() gave no exports');
  out[name] = keys;
}
process.stdout.write(JSON.stringify(out));
`,
  );
  const viaRequire = JSON.parse(capture('node', ['check.cjs'], { cwd: consumer }));
  const viaImport = JSON.parse(capture('node', ['check.mjs'], { cwd: consumer }));
  let bad = 0;
  for (const { name, pkg } of packages) {
    const same = JSON.stringify(viaRequire[name]) === JSON.stringify(viaImport[name]);
    console.log(
      `${same ? 'ok  ' : 'FAIL'} ${name}@${pkg.version}: ${viaImport[name].length} exports via import and require`,
    );
    if (!same) bad++;
  }
  // One real use through each module system, not just a load.
  capture(
    'node',
    [
      '-e',
      "const c=require('@pipeline/core'); if (c.alignTs(90061000,'1m')!==90060000) throw new Error('cjs')",
    ],
    { cwd: consumer },
  );
  capture(
    'node',
    [
      '--input-type=module',
      '-e',
      "import {alignTs} from '@pipeline/core'; if (alignTs(90061000,'1h')!==90000000) throw new Error('esm')",
    ],
    { cwd: consumer },
  );
  if (existsSync(join(consumer, 'node_modules', 'better-sqlite3'))) {
    capture(
      'node',
      [
        '-e',
        "const D=require('better-sqlite3'); const db=new D(':memory:'); if (db.prepare('select 1 as x').get().x!==1) throw new Error('sqlite')",
      ],
      { cwd: consumer },
    );
  }
  if (bad) throw new Error(`${bad} package(s) export different names via import and require`);
  console.log(
    `release verified: ${packages.length} packages published to ${registry} and used from import and require`,
  );
} finally {
  stop();
  rmSync(work, { recursive: true, force: true });
}
