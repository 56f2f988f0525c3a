// Feeds the stream hub from the sidecar's own publish points: accepted bars (after validation, so a
// replaced forming bar is sent again with the same ts), the features they moved, every new signal, and
// a health event when /health's status or a source's breaker state changes (checked after each cycle
// while a client is connected).
import { type Bar } from '@pipeline/core';
import { type HealthReport, type HealthSummary } from '../state/health';
import { type FeaturesFacts } from '../state/read-model';
import { ageSignal, type StoredSignal } from '../strategy/scanner';
import { type SignalHandle } from '../strategy/signals';
import { type StreamHub } from './stream-hub';

interface FeaturesRead {
  values: unknown;
  dataTs: number | null;
  stale: boolean;
}

/** What the feed reads from the sidecar (the Sidecar satisfies it). */
export interface StreamFeedSource {
  onBars(fn: (e: { symbol: string; bars: readonly Bar[] }) => void): () => void;
  /**
   * The same bars as `bars[from, to)` of a list lent for the call only (Sidecar.onBarsRange): no
   * event object and no array copy per symbol per cycle. Used when given. @default onBars
   */
  onBarsRange?(fn: (symbol: string, bars: readonly Bar[], from: number, to: number) => void): () => void;
  /** Called with each new signal as the signal book stored it. */
  onSignal(fn: (s: StoredSignal) => void): () => void;
  /**
   * Each new signal as a handle read only when the event is (SignalBook.onSignalHandle): with it the
   * book makes no signal object for the events the ring overwrites unread. @default onSignal
   */
  onSignalHandle?(fn: (symbol: string, handle: SignalHandle) => void): () => void;
  onCycle(fn: () => void): () => void;
  /** STALE_AFTER (ms): a signal event is the signal aged to its publishing time (as GET /signals ages it). */
  readonly config: { readonly staleAfterMs: number };
  /** The symbol's features as of now (a fresh object per call: the feed keeps it for the event). */
  features(symbol: string): FeaturesRead | null;
  /**
   * {@link features} without the object (ReadModel.featuresInto): the values, or null; their data
   * time (NaN: null) and stale flag written to `out`. Used when given. @default features
   */
  featuresInto?(symbol: string, out: FeaturesFacts): unknown;
  health(): HealthReport;
  /**
   * The report's status and breakers alone (Health.summary: no entry per symbol), which is all the
   * feed's health events read. @default health
   */
  healthSummary?(): HealthSummary;
}

/** Connects the source to the hub; returns the function that disconnects it. */
export function feedStreamHub(hub: StreamHub, source: StreamFeedSource): () => void {
  let status: HealthReport['status'] | null = null;
  let breakers: Record<string, string> = {};
  const checkHealth = () => {
    // The full /health report judges every symbol's freshness and every breaker's percentiles: not
    // worth building each cycle for nobody. Health changes are published while a client listens;
    // one that connects reads /health (or its first change event) for the state it starts from.
    if (hub.subscribers === 0) {
      status = null;
      return;
    }
    const h: HealthSummary = source.healthSummary ? source.healthSummary() : source.health();
    const now: Record<string, string> = {};
    for (const s of h.sources) now[s.name] = s.breaker;
    const changed = Object.keys(now).filter((k) => breakers[k] !== now[k]);
    if (status !== null && (h.status !== status || changed.length > 0)) {
      hub.publish('health', undefined, {
        status: h.status,
        previous: status,
        breakers: now,
        changed: [...(h.status !== status ? ['status'] : []), ...changed.map((k) => `source:${k}`)],
      });
    }
    status = h.status;
    breakers = now;
  };
  checkHealth();
  // A cycle's signals share few data times (the bar ts of the minute): format each one once.
  let isoTs = NaN;
  let iso = '';
  const dataTime = (ts: number): string => {
    if (ts !== isoTs) {
      iso = new Date(ts).toISOString();
      isoTs = ts;
    }
    return iso;
  };
  const { staleAfterMs } = source.config;
  // The signal as of its publishing: a fresh copy (aged then), which gets its dataTime in place
  // rather than being copied again (a spread of its ~18 fields costs V8 about 1.4 us).
  const signalEvent = (stored: StoredSignal, at: number) =>
    Object.assign(ageSignal(stored, at, staleAfterMs), { dataTime: dataTime(stored.dataTs) });
  const handleEvent = (handle: SignalHandle, at: number) => signalEvent(handle.read(), at);
  const releaseHandle = (handle: SignalHandle) => handle.release();
  // Built field by field when first read: the same object as `{ symbol, ...f }`. The ring keeps the
  // values and the data time (NaN: null); the stale flag is which of the two makers it keeps, so a
  // features event costs no object of its own until read.
  const dataTsOf = (n: number) => (Number.isNaN(n) ? null : n);
  const freshFeatures = (values: unknown, _at: number, symbol: string, dataTs: number) => ({
    symbol,
    values,
    dataTs: dataTsOf(dataTs),
    stale: false,
  });
  const staleFeatures = (values: unknown, _at: number, symbol: string, dataTs: number) => ({
    symbol,
    values,
    dataTs: dataTsOf(dataTs),
    stale: true,
  });
  const facts: FeaturesFacts = { dataTs: Number.NaN, stale: false };
  const featuresInto = source.featuresInto?.bind(source);
  const publishFeatures = (symbol: string) => {
    let values: unknown;
    if (featuresInto) {
      values = featuresInto(symbol, facts);
      if (values === null || values === undefined) return;
    } else {
      const f = source.features(symbol);
      if (!f) return;
      values = f.values;
      facts.dataTs = f.dataTs ?? Number.NaN;
      facts.stale = f.stale;
    }
    hub.publishDeferred(
      'features',
      symbol,
      facts.stale ? staleFeatures : freshFeatures,
      values,
      undefined,
      facts.dataTs,
    );
  };
  // Each bar is published (the hub keeps the bar, not the array), then the features it moved.
  const publishBars = (symbol: string, bars: readonly Bar[], from: number, to: number) => {
    for (let i = from; i < to; i++) hub.publish('bars', symbol, bars[i]);
    publishFeatures(symbol);
  };
  const offs = [
    source.onBarsRange
      ? source.onBarsRange(publishBars)
      : source.onBars(({ symbol, bars }) => publishBars(symbol, bars, 0, bars.length)),
    // The aged copy is made when the event is first read: with nobody subscribed, most are
    // overwritten in the ring unread (at 20,000 symbols a cycle publishes 20 rings' worth).
    source.onSignalHandle
      ? source.onSignalHandle((symbol, handle) => {
          // A block, not an expression body: a returned id would be boxed (an object per signal).
          hub.publishDeferred('signals', symbol, handleEvent, handle, releaseHandle);
        })
      : source.onSignal((stored) => hub.publishDeferred('signals', stored.symbol, signalEvent, stored)),
    source.onCycle(checkHealth),
  ];
  return () => offs.forEach((off) => off());
}
