import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const pkgDir = join(__dirname, '..');
const built = existsSync(join(pkgDir, 'dist', 'entries', 'synthetic.js'));

/** Bundles `code` as a user's bundler would (esbuild, tree shaking on) and returns the output text. */
async function bundle(code: string): Promise<string> {
  const out = await build({
    stdin: { contents: code, resolveDir: pkgDir, loader: 'ts' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Only `ws` matters here: the workspace packages and got stay out of the bundle.
    external: ['@pipeline/*', 'got', 'csv-parse', 'csv-parse/*'],
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

// Strings that only ws's own code contains.
const hasWs = (text: string): boolean => /Sec-WebSocket-Key|permessage-deflate/.test(text);

const esm = (name: string, from: string): string =>
  `import { ${name} } from '${from}';\nconsole.log(${name});`;
const cjs = (name: string, from: string): string =>
  `const { ${name} } = require('${from}');\nconsole.log(${name});`;

describe('bundling only what is imported (issue 15)', () => {
  it('the sources: the synthetic source alone leaves ws out (ws is loaded on the first stream connect)', async () => {
    const synthetic = await bundle(esm('createSyntheticFetcher', './src/index.ts'));
    expect(synthetic).toMatch(/createSyntheticFetcher/);
    expect(hasWs(synthetic)).toBe(false);
    const stream = await bundle(esm('createPolygonStream', './src/index.ts'));
    expect(hasWs(stream)).toBe(true);
  });

  // CI builds before it tests, so the built entries are checked there; a local run without a build skips them.
  if (process.env.CI === 'true' && !built) throw new Error('dist/ is missing: run pnpm build first');
  (built ? it : it.skip)(
    'the built package: the ESM main entry and the subpath entries (ESM and CommonJS) leave ws out; the Polygon entry brings it in',
    async () => {
      for (const code of [
        esm('createSyntheticFetcher', './dist/index.js'),
        esm('createSyntheticFetcher', './dist/entries/synthetic.js'),
        cjs('createSyntheticFetcher', './dist/entries/synthetic.cjs'),
        esm('createYahooFetcher', './dist/entries/yahoo.js'),
        cjs('createReplayFetcher', './dist/entries/replay.cjs'),
      ]) {
        const text = await bundle(code);
        expect([code, hasWs(text)]).toEqual([code, false]);
      }
      // A CommonJS bundler cannot tree-shake the main entry: use the subpath entries (README).
      expect(hasWs(await bundle(cjs('createSyntheticFetcher', './dist/index.cjs')))).toBe(true);
      expect(hasWs(await bundle(esm('createPolygonStream', './dist/entries/polygon.js')))).toBe(true);
    },
  );

  (built ? it : it.skip)(
    'engines.node says >=20.19: the CommonJS build requires ESM-only got, which needs require(esm)',
    () => {
      const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
        engines: { node: string };
      };
      expect(pkg.engines.node).toBe('>=20.19');
      const [major, minor] = process.versions.node.split('.').map(Number);
      expect(major! > 20 || (major === 20 && minor! >= 19)).toBe(true);
      const out = execFileSync(
        process.execPath,
        ['-e', "const f = require('./dist/index.cjs'); console.log(typeof f.createYahooFetcher)"],
        { cwd: pkgDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
      expect(out.trim()).toBe('function');
    },
  );
});
