// The trading calendars live in @pipeline/core (one implementation for every store and the sidecar,
// built on core's time-zone module). This module keeps sqlite-store's public names and its error
// code: a bad calendar argument is a SqliteStoreError with code SQLITE_BAD_ARGUMENT, as before.
import {
  CALENDAR_BAD_ARGUMENT,
  createUsEquityCalendar as coreCreateUsEquityCalendar,
  isPipelineError,
  resolveCalendar as coreResolveCalendar,
  type CalendarFunction,
  type CalendarSpec,
  type UsEquityCalendarOptions,
} from '@pipeline/core';
import { SQLITE_STORE_ERROR_CODES, SqliteStoreError } from './errors';

export {
  CALENDAR_NAMES,
  alwaysOpenCalendar,
  fxCalendar,
  expectedBarTimes,
  isCalendarSpec,
  type SessionWindow,
  type CalendarFunction,
  type CalendarName,
  type CalendarSpec,
  type UsEquityCalendarOptions,
} from '@pipeline/core';

function asStoreError<T>(reason: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (isPipelineError(err, CALENDAR_BAD_ARGUMENT)) {
      throw new SqliteStoreError(SQLITE_STORE_ERROR_CODES.BAD_ARGUMENT, err.message, { reason }, err);
    }
    throw err;
  }
}

/** core's createUsEquityCalendar; a malformed holiday throws SQLITE_BAD_ARGUMENT. */
export function createUsEquityCalendar(options: UsEquityCalendarOptions = {}): CalendarFunction {
  return asStoreError('holiday format', () => coreCreateUsEquityCalendar(options));
}

/** core's resolveCalendar; an unknown name throws SQLITE_BAD_ARGUMENT. */
export function resolveCalendar(spec: CalendarSpec): CalendarFunction {
  return asStoreError('calendar', () => coreResolveCalendar(spec));
}
