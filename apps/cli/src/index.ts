// Public entry of @pipeline/cli: the commands as functions, for scripts that want them without a shell.
export { runCli, createProgram, type ProgramIo } from './program';
export {
  runDownload,
  buildFetcher,
  stagingPath,
  type DownloadOptions,
  type DownloadReport,
  type SeriesReport,
} from './download';
export { runExport, type ExportOptions } from './export';
export { runDoctor, formatTable, type DoctorOptions, type CheckResult, type CheckStatus } from './doctor';
export { parseTarget, describeTarget, type Target } from './target';
export { writeCsv, writeParquet, readParquet, barToCsvLine, CSV_COLUMNS } from './writers';
export { CliError, isCliError, CLI_ERROR_CODES, type CliErrorCode } from './errors';
