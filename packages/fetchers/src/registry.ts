import { OptionsError, isSourceName, type Fetcher, type Scheduler, type SourceName } from '@pipeline/core';
import { type SymbolMapper } from '@pipeline/symbol-mapper';
import { createAlphaVantageFetcher, type AlphaVantageFetcherOptions } from './alphavantage/fetcher';
import { createPolygonFetcher, type PolygonFetcherOptions } from './polygon/fetcher';
import { createReplayFetcher, type ReplayFetcherOptions } from './replay/fetcher';
import { createSyntheticFetcher, type SyntheticFetcherOptions } from './synthetic/fetcher';
import { createTwelveDataFetcher, type TwelveDataFetcherOptions } from './twelvedata/fetcher';
import { createYahooFetcher, type YahooFetcherOptions } from './yahoo/fetcher';

/** The options each source's factory takes. */
export interface FetcherOptionsBySource {
  yahoo: Partial<YahooFetcherOptions>;
  alphavantage: Partial<AlphaVantageFetcherOptions> & Pick<AlphaVantageFetcherOptions, 'apiKey'>;
  twelvedata: Partial<TwelveDataFetcherOptions> & Pick<TwelveDataFetcherOptions, 'apiKey'>;
  polygon: Partial<PolygonFetcherOptions> & Pick<PolygonFetcherOptions, 'apiKey'>;
  synthetic: Partial<SyntheticFetcherOptions>;
  replay: Partial<ReplayFetcherOptions>;
}

/** Builds one fetcher by source name, e.g. `createFetcher('yahoo', { baseUrl })`. */
export function createFetcher<S extends SourceName>(source: S, options: FetcherOptionsBySource[S]): Fetcher {
  switch (source) {
    case 'yahoo':
      return createYahooFetcher(options);
    case 'alphavantage':
      return createAlphaVantageFetcher(options as FetcherOptionsBySource['alphavantage']);
    case 'twelvedata':
      return createTwelveDataFetcher(options as FetcherOptionsBySource['twelvedata']);
    case 'polygon':
      return createPolygonFetcher(options as FetcherOptionsBySource['polygon']);
    case 'synthetic':
      return createSyntheticFetcher(options);
    case 'replay':
      return createReplayFetcher(options as FetcherOptionsBySource['replay']);
    default:
      throw new OptionsError(`createFetcher: unknown source ${JSON.stringify(source)}`);
  }
}

/** Sources that cannot work without an API key. */
const NEEDS_KEY: ReadonlySet<SourceName> = new Set(['alphavantage', 'twelvedata', 'polygon']);

export interface FetchersConfig {
  /** Sources in fallback order (ARCHITECTURE.md `SOURCES`). */
  sources: readonly SourceName[];
  /** API key per source; a keyed source without one is skipped (reported in `skipped`). */
  apiKeys?: Partial<Record<SourceName, string | undefined>>;
  /** Base URL per source (`YAHOO_BASE_URL`, ...): proxies, mirrors and tests. */
  baseUrls?: Partial<Record<SourceName, string | undefined>>;
  /** Extra options per source, merged over the shared ones. */
  options?: { [S in SourceName]?: Partial<FetcherOptionsBySource[S]> };
  /** Shared by every fetcher built here. */
  clock?: Scheduler;
  symbolMapper?: SymbolMapper;
  /** Keep-alive sockets per provider (`HTTP_POOL_SIZE`). */
  poolSize?: number;
  timeoutMs?: number;
}

export interface BuiltFetchers {
  /** The fetchers, in the configured order, without the skipped ones. */
  fetchers: Fetcher[];
  /** Sources left out and why (e.g. no API key). */
  skipped: { source: SourceName; reason: string }[];
  /** Closes every fetcher. */
  close(): Promise<void>;
}

/**
 * Builds the fetchers of a configuration in fallback order. Keyed sources without a key are
 * skipped (not an error: the architecture says they are simply left out); an unknown source name
 * or a bad option throws an {@link OptionsError}.
 */
export function createFetchers(config: FetchersConfig): BuiltFetchers {
  if (!config || !Array.isArray(config.sources)) {
    throw new OptionsError(
      `createFetchers: "sources" must be an array of source names, got ${JSON.stringify(config?.sources)}`,
    );
  }
  const fetchers: Fetcher[] = [];
  const skipped: BuiltFetchers['skipped'] = [];
  for (const source of config.sources) {
    if (!isSourceName(source))
      throw new OptionsError(`createFetchers: unknown source ${JSON.stringify(source)}`);
    const apiKey = config.apiKeys?.[source];
    if (NEEDS_KEY.has(source) && !apiKey) {
      skipped.push({ source, reason: 'no API key' });
      continue;
    }
    const shared: Record<string, unknown> = {};
    if (config.clock) shared.clock = config.clock;
    if (source !== 'synthetic' && source !== 'replay') {
      if (config.symbolMapper) shared.symbolMapper = config.symbolMapper;
      // One client (and pool) per provider: a client names its source in every error it throws.
      if (config.poolSize !== undefined) shared.poolSize = config.poolSize;
      if (config.timeoutMs !== undefined) shared.timeoutMs = config.timeoutMs;
      if (config.baseUrls?.[source]) shared.baseUrl = config.baseUrls[source];
      if (apiKey) shared.apiKey = apiKey;
    }
    fetchers.push(createFetcher(source, { ...shared, ...config.options?.[source] }));
  }
  return {
    fetchers,
    skipped,
    close: async () => {
      await Promise.all(fetchers.map((f) => f.close()));
    },
  };
}
