import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type Socket } from 'node:net';
import {
  TIMEFRAME_MS,
  isFetchError,
  isTimeframe,
  systemClock,
  type Bar,
  type Clock,
  type Fetcher,
  type Timeframe,
} from '@pipeline/core';
import { createSymbolMapper, type SymbolMapper } from '@pipeline/symbol-mapper';
import { AV_INTERVALS } from '../alphavantage/intervals';
import { YAHOO_INTERVALS } from '../yahoo/intervals';
import { alphaVantageSeriesBody, yahooChartBody, yahooChartError, yahooQuoteBody } from './formats';

/** A scripted failure the server answers with instead of data. */
export interface ProviderFault {
  /** HTTP status to send. @default 500 */
  status?: number;
  /** Body to send (plain text or JSON text). @default '' */
  body?: string;
  contentType?: string;
  /** Never answer (until close): a hung provider. */
  hang?: boolean;
  /** Destroy the connection: a reset. */
  reset?: boolean;
  /** Answer after this many ms (with data, or with the fault's status/body when given). */
  delayMs?: number;
  /** How many requests get this fault; afterwards the server serves data again. @default Infinity */
  times?: number;
}

export interface ProviderServerOptions {
  /** Bars to serve (generic symbols, any timeframes). Used when `fetcher` is absent. @default [] */
  bars: readonly Bar[];
  /** Or a live bar source, e.g. `createSyntheticFetcher({ clock })`: asked for every request. @default undefined */
  fetcher: Fetcher | undefined;
  /** Clock deciding which bars exist yet (`ts <= now`) and what `range=1d` means. @default systemClock */
  clock: Clock;
  /** Provider <-> generic symbols. @default createSymbolMapper() */
  symbolMapper: SymbolMapper | undefined;
}

export interface ProviderServer {
  /** `http://127.0.0.1:<port>`: pass it as the fetcher's `baseUrl`. */
  readonly url: string;
  /** Requests received (path and query), API keys included: for assertions only. */
  readonly requests: readonly { path: string; query: URLSearchParams }[];
  /** Replaces the served bars. */
  setBars(bars: readonly Bar[]): void;
  /** Makes the next requests fail (null clears). */
  setFault(fault: ProviderFault | null): void;
  close(): Promise<void>;
}

const DAY_MS = 86_400_000;
const RANGE_MS: Record<string, number> = {
  '1d': DAY_MS,
  '5d': 5 * 86_400_000,
  '1mo': 31 * 86_400_000,
  '3mo': 92 * 86_400_000,
  '6mo': 183 * 86_400_000,
  '1y': 366 * 86_400_000,
  '2y': 731 * 86_400_000,
  '5y': 1827 * 86_400_000,
  '10y': 3653 * 86_400_000,
  max: Infinity,
};

function reverse(
  map: Readonly<Partial<Record<Timeframe, string>>>,
  value: string | null,
): Timeframe | undefined {
  const hit = Object.entries(map).find(([, v]) => v === value)?.[0];
  return isTimeframe(hit) ? hit : undefined;
}

/**
 * A real HTTP server that answers Yahoo chart/quote and Alpha Vantage `/query` requests in the
 * providers' own formats, from bars you give it (or from a fetcher such as the synthetic one). For
 * end-to-end tests of code that uses the real fetchers, with no network and no recorded files.
 */
export async function startProviderServer(
  options: Partial<ProviderServerOptions> = {},
): Promise<ProviderServer> {
  let bars: readonly Bar[] = options.bars ?? [];
  const clock = options.clock ?? systemClock;
  const mapper = options.symbolMapper ?? createSymbolMapper();
  const fetcher = options.fetcher;
  let fault: (ProviderFault & { left: number }) | null = null;
  const requests: { path: string; query: URLSearchParams }[] = [];
  const sockets = new Set<Socket>();
  const hung = new Set<ServerResponse>();

  const barsOf = async (symbol: string, timeframe: Timeframe, from: number, to: number): Promise<Bar[]> => {
    const until = Math.min(to, clock.now() + 1);
    if (fetcher) {
      try {
        return await fetcher.fetchHistory({ symbol, timeframe, from, to: until });
      } catch {
        return [];
      }
    }
    return bars
      .filter((b) => b.symbol === symbol && b.timeframe === timeframe && b.ts >= from && b.ts < until)
      .sort((a, b) => a.ts - b.ts);
  };
  const generic = (providerSymbol: string, source: 'yahoo' | 'alphavantage'): string => {
    try {
      return mapper.fromProvider(providerSymbol, source) ?? providerSymbol;
    } catch {
      return providerSymbol;
    }
  };
  const known = async (symbol: string): Promise<boolean> => {
    if (!fetcher) return bars.some((b) => b.symbol === symbol);
    try {
      await fetcher.fetchLatest({ symbol, timeframe: '1d', limit: 1 });
      return true;
    } catch (err) {
      return !(isFetchError(err) && err.kind === 'symbol_not_found');
    }
  };

  const answer = async (u: URL): Promise<{ status: number; body: unknown }> => {
    const q = u.searchParams;
    const now = clock.now();
    if (u.pathname.startsWith('/v8/finance/chart/')) {
      const providerSymbol = decodeURIComponent(u.pathname.slice('/v8/finance/chart/'.length));
      const symbol = generic(providerSymbol, 'yahoo');
      const tf = reverse(YAHOO_INTERVALS, q.get('interval'));
      if (!tf)
        return {
          status: 400,
          body: yahooChartError(
            'Bad Request',
            `Invalid input - interval=${q.get('interval')} is not supported`,
          ),
        };
      if (!(await known(symbol)))
        return { status: 404, body: yahooChartError('Not Found', 'No data found, symbol may be delisted') };
      const range = q.get('range');
      const from = range ? now - (RANGE_MS[range] ?? DAY_MS) : Number(q.get('period1')) * 1000;
      const to = range ? now + 1 : Number(q.get('period2')) * 1000;
      return {
        status: 200,
        body: yahooChartBody(
          providerSymbol,
          q.get('interval') ?? '',
          await barsOf(symbol, tf, from, to),
          now,
        ),
      };
    }
    if (u.pathname === '/v7/finance/quote') {
      const quotes = [];
      for (const providerSymbol of (q.get('symbols') ?? '').split(',').filter(Boolean)) {
        const symbol = generic(providerSymbol, 'yahoo');
        const recent = (await known(symbol)) ? await barsOf(symbol, '1m', now - 7 * 86_400_000, now + 1) : [];
        const last = recent[recent.length - 1];
        if (last) quotes.push({ providerSymbol, last, now });
      }
      return { status: 200, body: yahooQuoteBody(quotes) };
    }
    if (u.pathname === '/query') {
      const fn = q.get('function') ?? '';
      const fx = fn.startsWith('FX_');
      const providerSymbol = fx ? `${q.get('from_symbol')}/${q.get('to_symbol')}` : (q.get('symbol') ?? '');
      const symbol = generic(providerSymbol, 'alphavantage');
      const intraday = fn.endsWith('_INTRADAY');
      const tf: Timeframe | undefined = intraday ? reverse(AV_INTERVALS, q.get('interval')) : '1d';
      if (!/^(TIME_SERIES|FX)_(INTRADAY|DAILY)$/.test(fn) || !tf || !(await known(symbol))) {
        return {
          status: 200,
          body: {
            'Error Message': `Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for ${fn}.`,
          },
        };
      }
      const count = q.get('outputsize') === 'full' ? 5000 : 100;
      const got = await barsOf(symbol, tf, now - count * TIMEFRAME_MS[tf], now + 1);
      // AV lists completed intraday bars only (stamped at their start, as today's API does).
      const listed = intraday ? got.filter((b) => b.ts + TIMEFRAME_MS[tf] <= now) : got;
      return {
        status: 200,
        body: alphaVantageSeriesBody(fn, q.get('interval'), providerSymbol, listed.slice(-count), tf),
      };
    }
    return { status: 404, body: { error: `no route for ${u.pathname}` } };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({ path: u.pathname, query: u.searchParams });
    req.resume();
    void (async () => {
      const f = fault && fault.left > 0 ? fault : null;
      if (f) f.left--;
      if (f?.delayMs) await new Promise((r) => setTimeout(r, f.delayMs).unref());
      if (f?.hang) {
        hung.add(res);
        return;
      }
      if (f?.reset) {
        req.socket.destroy();
        return;
      }
      if (f && (f.status !== undefined || f.body !== undefined)) {
        res.writeHead(f.status ?? 500, { 'content-type': f.contentType ?? 'text/plain' });
        res.end(f.body ?? '');
        return;
      }
      const { status, body } = await answer(u);
      res.writeHead(status, { 'content-type': 'application/json;charset=utf-8' });
      res.end(JSON.stringify(body));
    })().catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setBars(next) {
      bars = next;
    },
    setFault(next) {
      fault = next ? { ...next, left: next.times ?? Infinity } : null;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of hung) r.destroy();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
