// The Dockerfile and compose file, checked without a Docker daemon: the linters' verdicts (each
// proven to reject a broken file) and the properties issue 14 asks for.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';
import { parse } from 'yaml';

const deployDir = join(__dirname, '..');
const dockerfile = readFileSync(join(deployDir, 'sidecar.Dockerfile'), 'utf8');

/** Instructions of a Dockerfile: keyword and arguments, continuation lines joined, comments dropped. */
function instructions(text: string): { keyword: string; args: string }[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [keyword = '', ...rest] = l.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

describe('sidecar.Dockerfile', () => {
  it('passes dockerfile-utils, which rejects a broken Dockerfile', () => {
    expect(validate(dockerfile)).toEqual([]);
    const bad = validate('FROM node:20\nEXPOSE abc\nHEALTHCHECK --interva=5s CMD true\n');
    expect(bad.map((d) => d.message)).toEqual(['Invalid containerPort: abc', 'Unknown flag: interva']);
  });

  const all = instructions(dockerfile);
  const froms = all.map((ins, i) => ({ ...ins, i })).filter((ins) => ins.keyword === 'FROM');
  const runtime = all.slice(froms.at(-1)!.i);

  it('is multi-stage: pnpm builds, the runtime stage holds only the pnpm deploy output', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms[0]!.args).toMatch(/^node:\$\{NODE_VERSION\}-bookworm AS build$/);
    expect(all.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_VERSION='))?.args).toMatch(
      /^NODE_VERSION=20\./,
    );
    expect(dockerfile).toMatch(/pnpm install --offline --frozen-lockfile/);
    expect(dockerfile).toMatch(/pnpm --filter @pipeline\/sidecar deploy --prod \/prod\/sidecar/);
    expect(runtime.filter((i) => i.keyword === 'COPY').map((i) => i.args)).toEqual([
      '--from=build --chown=node:node /prod/sidecar /app',
    ]);
    expect(dockerfile).not.toMatch(/npm_config_nodedir/);
  });

  it('runs as a non-root user with a health check on /health/live', () => {
    const users = runtime.filter((i) => i.keyword === 'USER').map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const health = runtime.filter((i) => i.keyword === 'HEALTHCHECK');
    expect(health).toHaveLength(1);
    expect(health[0]!.args).toContain('/health/live');
    expect(runtime.at(-1)).toEqual({
      keyword: 'CMD',
      args: '["node", "--max-semi-space-size=128", "--min-semi-space-size=16", "--no-allocation-site-pretenuring", "--enable-source-maps", "dist/main.js"]',
    });
    // The listener must be reachable from outside the container.
    expect(dockerfile).toMatch(/HOST=0\.0\.0\.0/);
  });
});

describe('compose.yaml', () => {
  const dclint = join(deployDir, 'node_modules/.bin/dclint');
  const run = (file: string) => spawnSync(dclint, [file], { encoding: 'utf8' });

  it('passes dclint (compose-spec schema and best practices), which rejects a schema violation', () => {
    const ok = run(join(deployDir, 'compose.yaml'));
    expect(ok.stdout + ok.stderr).not.toMatch(/error/);
    expect(ok.status).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'deploy-compose-'));
    try {
      writeFileSync(join(dir, 'compose.yaml'), 'services:\n  a:\n    image: redis\n    helthcheck: {}\n');
      const bad = run(join(dir, 'compose.yaml'));
      expect(bad.status).toBe(1);
      expect(bad.stdout).toMatch(/invalid-schema/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('wires the sidecar to Redis and PostgreSQL, started healthy first', () => {
    interface Service {
      build?: { context: string; dockerfile: string };
      environment?: Record<string, string>;
      depends_on?: Record<string, { condition: string }>;
      healthcheck?: unknown;
    }
    const compose = parse(readFileSync(join(deployDir, 'compose.yaml'), 'utf8')) as {
      services: Record<string, Service>;
    };
    const sidecar = compose.services.sidecar!;
    expect(sidecar.build).toEqual({ context: '..', dockerfile: 'deploy/sidecar.Dockerfile' });
    expect(sidecar.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(sidecar.environment?.HISTORY_URL).toMatch(/^postgres:\/\/[^@]+@postgres:5432\//);
    expect(sidecar.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
    expect(compose.services.redis?.healthcheck).toBeDefined();
    expect(compose.services.postgres?.healthcheck).toBeDefined();
  });
});
