import { join } from 'node:path';
import { isCliError, CLI_ERROR_CODES } from './errors';
import { describeTarget, parseTarget, redactUrl } from './target';

describe('parseTarget', () => {
  it('tells files, SQLite and PostgreSQL apart', () => {
    expect(parseTarget('out/bars.csv')).toEqual({ kind: 'csv', path: join(process.cwd(), 'out/bars.csv') });
    expect(parseTarget('/data/x.PARQUET')).toEqual({ kind: 'parquet', path: '/data/x.PARQUET' });
    expect(parseTarget('sqlite:h.db')).toEqual({ kind: 'sqlite', path: join(process.cwd(), 'h.db') });
    expect(parseTarget('sqlite:///abs/h.db')).toEqual({ kind: 'sqlite', path: '/abs/h.db' });
    expect(parseTarget('history.sqlite')).toEqual({
      kind: 'sqlite',
      path: join(process.cwd(), 'history.sqlite'),
    });
    expect(parseTarget('postgresql://u@h/db')).toEqual({ kind: 'postgres', url: 'postgresql://u@h/db' });
  });

  it('refuses what it cannot tell, with a code', () => {
    for (const bad of ['bars.txt', 'sqlite:', 'mysql://h/db']) {
      let err: unknown;
      try {
        parseTarget(bad);
      } catch (e) {
        err = e;
      }
      expect(isCliError(err, CLI_ERROR_CODES.BAD_TARGET)).toBe(true);
    }
  });
});

describe('redactUrl', () => {
  it('hides passwords, with or without a user name', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/x')).toBe('postgres://app:***@db:5432/x');
    expect(redactUrl('redis://:s3cret@cache:6379')).toBe('redis://:***@cache:6379');
    expect(redactUrl('redis://cache:6379/0')).toBe('redis://cache:6379/0');
    expect(describeTarget(parseTarget('postgres://app:s3cret@db/x'))).toBe('postgres://app:***@db/x');
  });
});
