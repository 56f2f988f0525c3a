import { isAbsolute, resolve } from 'node:path';
import { type HistoryStore } from '@pipeline/core';
import { createPgStore } from '@pipeline/pg-store';
import { createSqliteHistoryStore } from '@pipeline/sqlite-store';
import { CLI_ERROR_CODES, CliError } from './errors';

/** Where bars go (`download --out`) or come from (`export --from`). */
export type Target =
  | { kind: 'csv'; path: string }
  | { kind: 'parquet'; path: string }
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string };

const TARGET_HELP =
  'file.csv, file.parquet, sqlite:path (or a path ending in .db/.sqlite), postgres://user@host:5432/db';

/** Reads a target spec: `x.csv`, `x.parquet`, `sqlite:x.db` / `x.db` / `x.sqlite`, `postgres://...`. */
export function parseTarget(spec: string): Target {
  const s = spec.trim();
  if (/^postgres(ql)?:\/\//i.test(s)) return { kind: 'postgres', url: s };
  if (/^sqlite:/i.test(s)) {
    const path = s.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '')
      throw new CliError(
        CLI_ERROR_CODES.BAD_TARGET,
        `"${spec}" names no SQLite file (sqlite:path/to/file.db)`,
      );
    return { kind: 'sqlite', path: absolute(path) };
  }
  if (/\.(db|sqlite|sqlite3)$/i.test(s)) return { kind: 'sqlite', path: absolute(s) };
  if (/\.csv$/i.test(s)) return { kind: 'csv', path: absolute(s) };
  if (/\.parquet$/i.test(s)) return { kind: 'parquet', path: absolute(s) };
  throw new CliError(CLI_ERROR_CODES.BAD_TARGET, `cannot tell what "${spec}" is; use ${TARGET_HELP}`);
}

function absolute(p: string): string {
  return isAbsolute(p) ? p : resolve(process.cwd(), p);
}

/** A target for messages: PostgreSQL passwords are never printed. */
export function describeTarget(t: Target): string {
  if (t.kind !== 'postgres') return `${t.kind}:${t.path}`;
  return redactUrl(t.url);
}

/** `postgres://user:secret@host/db` -> `postgres://user:***@host/db` (also `redis://:secret@host`). */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}

/** Opens the history store behind a SQLite or PostgreSQL target (inline writes: the CLI backfills). */
export async function openStore(
  target: Extract<Target, { kind: 'sqlite' | 'postgres' }>,
): Promise<HistoryStore> {
  if (target.kind === 'sqlite') {
    const { mkdirSync } = await import('node:fs');
    const { dirname } = await import('node:path');
    mkdirSync(dirname(target.path), { recursive: true });
    return createSqliteHistoryStore({ path: target.path, mode: 'inline' });
  }
  const store = createPgStore({ url: target.url });
  await store.ready();
  return store;
}
