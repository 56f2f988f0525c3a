// Opening a bar file: the connection, its pragmas (WAL + synchronous=NORMAL under the caller's
// overrides) and the versioned migrations, with the open and migration failures named.
import Database from 'better-sqlite3';
import { COMPONENT } from './arguments';
import { SQLITE_STORE_ERROR_CODES as CODES, SqliteStoreError, isSqliteStoreError } from './errors';
import { type ResolvedSqliteStoreOptions } from './options';
import { MIGRATIONS, SCHEMA_VERSION } from './schema';

/** The pragma statements a connection runs after opening (the writer thread's connection too). */
export function pragmaList(options: ResolvedSqliteStoreOptions): string[] {
  const merged: Record<string, string | number> = {
    journal_mode: 'WAL',
    synchronous: 'NORMAL',
    ...options.pragmas,
  };
  return Object.entries(merged).map(([k, v]) => `${k} = ${v}`);
}

/** Opens (creating if needed) and migrates the file; throws SQLITE_OPEN_FAILED / SQLITE_MIGRATION_FAILED. */
export function openBarDatabase(
  options: ResolvedSqliteStoreOptions,
  pragmas: readonly string[],
): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(options.path, { timeout: options.busyTimeoutMs });
    for (const p of pragmas) db.pragma(p);
  } catch (cause) {
    throw new SqliteStoreError(
      CODES.OPEN_FAILED,
      `${COMPONENT}: cannot open ${JSON.stringify(options.path)}: ${(cause as Error).message}`,
      { path: options.path },
      cause,
    );
  }
  try {
    migrate(db, options.path);
  } catch (cause) {
    db.close();
    throw isSqliteStoreError(cause)
      ? cause
      : new SqliteStoreError(
          CODES.MIGRATION_FAILED,
          `${COMPONENT}: migrating ${JSON.stringify(options.path)} failed: ${(cause as Error).message}`,
          { path: options.path },
          cause,
        );
  }
  return db;
}

/** Moves the file forward one version per transaction; refuses a file from a newer version. */
function migrate(db: Database.Database, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new SqliteStoreError(
      CODES.MIGRATION_FAILED,
      `${COMPONENT}: ${JSON.stringify(path)} has schema version ${version}, newer than ${SCHEMA_VERSION} which this package knows; upgrade @pipeline/sqlite-store`,
      { path },
    );
  }
  for (const [k, migration] of MIGRATIONS.slice(version, SCHEMA_VERSION).entries()) {
    const v = version + k;
    db.transaction(() => {
      db.exec(migration);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
