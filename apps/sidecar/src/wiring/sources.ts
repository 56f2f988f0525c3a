// The fetchers of the configured fallback order and the Polygon stream, from @pipeline/fetchers.
import { type Bar, type Scheduler, type SourceName, systemClock } from '@pipeline/core';
import {
  createAlphaVantageFetcher,
  createPolygonFetcher,
  createPolygonStream,
  createSyntheticFetcher,
  createTwelveDataFetcher,
  createYahooFetcher,
  type PolygonStream,
  type PolygonStreamMarket,
} from '@pipeline/fetchers';
import { type SymbolMapper } from '@pipeline/symbol-mapper';
import { type SidecarConfig } from './config';
import { type Logger } from './logger';
import { coalesceLatest } from '../pipeline/batcher';
import { type SourceSlot } from '../ports';
import { type LiveStreamPort } from '../sidecar';

const base = <T extends string | undefined>(url: T) => (url ? { baseUrl: url } : {});

/** The API key of an active source: the config drops a source whose key is missing, so it is set. */
function apiKeyOf(config: SidecarConfig, source: keyof SidecarConfig['apiKeys']): string {
  const key = config.apiKeys[source];
  if (!key) throw new Error(`source ${source} is active without ${source.toUpperCase()}_API_KEY`);
  return key;
}

/**
 * One fetcher per active source, in fallback order, sharing the symbol mapper and the clock.
 * `replay` needs a bar source given in code, so from the environment it is skipped with a note.
 */
export function createSources(
  config: SidecarConfig,
  mapper: SymbolMapper,
  clock: Scheduler = systemClock,
  log?: Logger,
): SourceSlot[] {
  const common = { clock, symbolMapper: mapper, poolSize: config.httpPoolSize };
  const slots: SourceSlot[] = [];
  for (const name of config.activeSources) {
    switch (name) {
      case 'yahoo':
        slots.push({ name, fetcher: createYahooFetcher({ ...common, ...base(config.baseUrls.yahoo) }) });
        break;
      case 'alphavantage':
        slots.push({
          name,
          fetcher: createAlphaVantageFetcher({
            ...common,
            apiKey: apiKeyOf(config, 'alphavantage'),
            ...base(config.baseUrls.alphavantage),
          }),
        });
        break;
      case 'twelvedata':
        slots.push({
          name,
          // The loop's latest-bar calls of one cycle go out as one batch request (pipeline/batcher.ts).
          fetcher: coalesceLatest(
            createTwelveDataFetcher({
              ...common,
              apiKey: apiKeyOf(config, 'twelvedata'),
              ...base(config.baseUrls.twelvedata),
            }),
          ),
        });
        break;
      case 'polygon':
        slots.push({
          name,
          fetcher: coalesceLatest(
            createPolygonFetcher({
              ...common,
              apiKey: apiKeyOf(config, 'polygon'),
              ...base(config.baseUrls.polygon),
            }),
          ),
        });
        break;
      case 'synthetic':
        slots.push({ name, fetcher: createSyntheticFetcher({ clock }) });
        break;
      case 'replay':
        log?.warn('source replay skipped: it needs a bar source given in code, not the environment');
        break;
    }
  }
  return slots;
}

const MARKET_OF_CLASS: Record<string, PolygonStreamMarket> = {
  fx: 'forex',
  metal: 'forex',
  crypto: 'crypto',
  stock: 'stocks',
  index: 'indices',
};

/**
 * Polygon's WebSocket aggregates as one live stream, when POLYGON_API_KEY is set and polygon is in
 * SOURCES: one socket per market cluster the symbols need. Minute aggregates arrive as final bars;
 * the loop keeps polling the forming bar alongside (within the budget), and carries the symbols
 * alone when the stream goes quiet.
 */
export function createPolygonLiveStream(
  config: SidecarConfig,
  mapper: SymbolMapper,
  clock: Scheduler = systemClock,
  log?: Logger,
): LiveStreamPort | undefined {
  const apiKey = config.apiKeys.polygon;
  if (!apiKey || !config.activeSources.includes('polygon')) return undefined;
  if (config.timeframe !== '1m' && config.timeframe !== '1s') return undefined;
  const byMarket = new Map<PolygonStreamMarket, string[]>();
  for (const symbol of config.symbols) {
    let market: PolygonStreamMarket | undefined;
    try {
      market = MARKET_OF_CLASS[mapper.instrument(symbol).assetClass];
    } catch {
      market = undefined;
    }
    if (!market || mapper.toProvider(symbol, 'polygon') === null) continue;
    byMarket.set(market, [...(byMarket.get(market) ?? []), symbol]);
  }
  if (byMarket.size === 0) return undefined;
  const streams: PolygonStream[] = [];
  return {
    source: 'polygon' satisfies SourceName,
    subscribe(_symbols, onBar: (bar: Bar) => void) {
      const offs: (() => void)[] = [];
      for (const [market, symbols] of byMarket) {
        const wsUrl = config.baseUrls.polygonWs
          ? `${config.baseUrls.polygonWs.replace(/\/$/, '')}/${market}`
          : '';
        const stream = createPolygonStream({
          apiKey,
          market,
          url: wsUrl,
          symbols,
          timeframes: [config.timeframe as '1m' | '1s'],
          symbolMapper: mapper,
          clock,
        });
        streams.push(stream);
        offs.push(stream.onBar(onBar));
        offs.push(
          stream.onError((err) => log?.warn('polygon stream error; polling covers the gap', { market, err })),
        );
        stream
          .connect()
          .catch((err: unknown) =>
            log?.warn('polygon stream did not connect; polling instead', { market, err }),
          );
      }
      return () => offs.forEach((off) => off());
    },
    async close() {
      await Promise.all(streams.map((s) => s.close()));
    },
  };
}
