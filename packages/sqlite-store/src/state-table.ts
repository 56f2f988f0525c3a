// The small JSON key-value table (bootstrap progress, saved breaker state): committed at once, never
// buffered, so that a crash right after setState() cannot lose it.
import type Database from 'better-sqlite3';
import { type Scheduler } from '@pipeline/core';
import { badArgument, checkKey } from './arguments';

export class StateTable {
  private readonly get: Database.Statement;
  private readonly set: Database.Statement;
  private readonly del: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly clock: Pick<Scheduler, 'now'>,
  ) {
    this.get = db.prepare('SELECT value FROM kv WHERE key = ?').pluck();
    this.set = db.prepare(
      'INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
    );
    this.del = db.prepare('DELETE FROM kv WHERE key = ?');
  }

  read<T>(key: string): T | undefined {
    checkKey(key);
    const value = this.get.get(key) as string | undefined;
    return value === undefined ? undefined : (JSON.parse(value) as T);
  }

  write(key: string, value: unknown): void {
    checkKey(key);
    const json = JSON.stringify(value);
    if (json === undefined) throw badArgument(`value of "${key}" is not JSON-serialisable`, 'value');
    this.set.run(key, json, this.clock.now());
  }

  delete(key: string): boolean {
    checkKey(key);
    return this.del.run(key).changes > 0;
  }
}
