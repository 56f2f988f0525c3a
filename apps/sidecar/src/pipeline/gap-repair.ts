// Gap repair: stretches missed between two live answers (a provider outage, a sleep) are fetched in
// the background, one at a time, through the same chunked bootstrap as at start.
import { type Timeframe } from '@pipeline/core';
import { type Logger } from '../wiring/logger';
import {
  type BarStorePort,
  type BreakerPort,
  type SourceSlot,
  type SymbolPort,
  type ValidatorPort,
} from '../ports';
import { runBootstrap } from './bootstrap';
import { type LiveGap } from './ingest';

export interface GapRepairOptions {
  timeframe: Timeframe;
  sources: readonly SourceSlot[];
  breaker: BreakerPort;
  store: BarStorePort;
  validator: ValidatorPort;
  symbols: Pick<SymbolPort, 'calendar'>;
  now: () => number;
  log: Logger;
}

export interface GapRepair {
  /** Notes a gap; it is fetched on the next {@link GapRepair.kick}. */
  enqueue(gap: LiveGap): void;
  /** Starts repairing the noted gaps unless a repair is running or nothing is noted. */
  kick(): void;
  /** Resolves when the running repair (if any) is over. */
  idle(): Promise<void>;
  readonly pending: number;
}

export function createGapRepair(options: GapRepairOptions): GapRepair {
  const { log } = options;
  const queue: LiveGap[] = [];
  let running: Promise<void> | undefined;

  async function repair(): Promise<void> {
    for (const gap of queue.splice(0)) {
      try {
        const report = await runBootstrap({
          symbols: [gap.symbol],
          timeframe: options.timeframe,
          from: gap.from,
          to: gap.to,
          sources: options.sources,
          breaker: options.breaker,
          store: options.store,
          validator: options.validator,
          now: options.now,
          calendarFor: (symbol) => options.symbols.calendar(symbol),
        });
        // A jump over closed market hours plans no chunk: nothing was missing.
        if (report.chunksPlanned > 0)
          log.info('gap repaired', { ...gap, bars: report.bars, chunks: report.chunksPlanned });
        else log.debug('no gap in the market calendar', gap);
      } catch (err) {
        log.warn('gap repair failed', { ...gap, err });
      }
    }
  }

  return {
    enqueue: (gap) => void queue.push(gap),
    kick() {
      if (queue.length > 0 && !running) running = repair().finally(() => (running = undefined));
    },
    async idle() {
      await running;
    },
    get pending() {
      return queue.length;
    },
  };
}
