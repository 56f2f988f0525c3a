// Bundles the dashboard into dist/dashboard (served by the sidecar at /): one ES module with
// lightweight-charts inside, its CSS and index.html. Run by the sidecar's `build` script after tsup
// (which cleans dist/), and by `test:browser`. No CDN at run time: everything is in the bundle.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'dashboard');
await mkdir(out, { recursive: true });
await build({
  entryPoints: [
    { in: join(here, 'src', 'main.ts'), out: 'app' },
    { in: join(here, 'src', 'app.css'), out: 'app' },
  ],
  outdir: out,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
await copyFile(join(here, 'index.html'), join(out, 'index.html'));
