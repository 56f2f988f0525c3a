// onIssue: every issue raised, with the bar's identity, on core's one emitter (a throwing listener
// does not break validation and is reported once as a process warning).
import { Emitter, type Bar } from '@pipeline/core';
import { STATUSES, type Issue, type StatusCode, type ValidationStatus } from './rules';
import { type IssueEvent } from './types';

export const STATUS_NAMES: readonly ValidationStatus[] = [
  STATUSES.accepted,
  STATUSES.repaired,
  STATUSES.rejected,
];

export class IssueEvents {
  readonly emitter = new Emitter<IssueEvent>('validator onIssue');

  /** One event per issue; nothing is built while nobody listens. */
  emit(
    issues: Issue[],
    status: StatusCode,
    symbol: string,
    timeframe: string,
    ts: number,
    source: string,
  ): void {
    if (this.emitter.size === 0) return;
    for (const issue of issues) {
      this.emitter.emit({ issue, status: STATUS_NAMES[status] ?? 'rejected', symbol, timeframe, ts, source });
    }
  }

  /** For a bar whose shape is unknown (schema rejections): its fields as text. */
  emitForUnknown(issues: Issue[], status: StatusCode, bar: unknown): void {
    const b = (bar ?? {}) as Partial<Bar>;
    this.emit(issues, status, String(b.symbol), String(b.timeframe), Number(b.ts), String(b.source));
  }
}
