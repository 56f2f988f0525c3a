// One fault-mode suite run against every HTTP provider fetcher (the trading-signals / unstorage
// pattern): a real HTTP server answers with each network or body fault, and every fetcher must map it
// to the same FetchError kind, count it once, never leak its API key, and still succeed against a
// slow server within its timeout. Each provider passes a small descriptor; the assertions live here.
import { type Bar, type FetchError, type FetchErrorKind, type SourceName } from '@pipeline/core';
import { type FixtureHandler, type FixtureReply } from '@pipeline/test-utils';
import { type FetcherStats } from '../base/stats';
import { failure } from './failure';
import { useFixtureServer } from './use-fixture-server';

/** The part of a provider fetcher this suite drives. */
export interface FaultSubject {
  stats(): FetcherStats;
  close(): Promise<void>;
}

/** A fault the server answers with, and the FetchError kind it must become. */
export interface FaultCase {
  name: string;
  reply: FixtureReply;
  kind: FetchErrorKind;
  /** Extra check of the message (e.g. `/timed out/` for a hang). */
  message?: RegExp;
}

/** What the suite needs to know about one provider. */
export interface FaultModeProvider<F extends FaultSubject> {
  source: SourceName;
  /** The API key the fetcher is built with; it must appear in no message or cause. Undefined: keyless. */
  apiKey: string | undefined;
  /** A fetcher against `baseUrl` whose whole-request timeout is `timeoutMs`. */
  make(baseUrl: string, timeoutMs: number): F;
  /** The request every fault is answered to: one HTTP request (usually a `fetchLatest`). */
  request(fetcher: F, signal?: AbortSignal): Promise<unknown>;
  /** Whole-request timeout of the fetchers built here, in ms. */
  timeoutMs: number;
  /** Provider-specific faults: a truncated, an HTML and a 5xx body in the provider's own shape, ... */
  cases: readonly FaultCase[];
  /** A good answer, served late (`delayMs` below the timeout) by the slow-server test. */
  ok: FixtureHandler;
  /** The request the slow server is asked (defaults to `request`) and the bars it must return. */
  okRequest?(fetcher: F): Promise<Bar[]>;
  okBars: number;
  /** Delay of the slow server, in ms. @default a third of timeoutMs */
  slowMs?: number;
  /** A body whose provider message echoes the key: the error must carry it masked. */
  keyEcho?: { reply: FixtureReply; kind: FetchErrorKind; message: string };
}

/** The faults every provider shares: the network ones and an empty body. */
export const COMMON_FAULTS: readonly FaultCase[] = [
  { name: 'a hung server', reply: { hang: true }, kind: 'transient', message: /timed out/ },
  { name: 'a connection reset', reply: { reset: true }, kind: 'transient' },
  { name: 'an empty body', reply: { status: 200, body: '' }, kind: 'malformed' },
];

/** Registers the fault-mode tests of one provider (call at the top level of a test file). */
export function describeFaultModes<F extends FaultSubject>(p: FaultModeProvider<F>): void {
  describe(`${p.source} fetcher under network and body faults`, () => {
    const { srv, track } = useFixtureServer(() => ({ status: 500, body: 'no handler' }));
    const make = (): F => track(p.make(srv.url, p.timeoutMs));
    const expectNoKey = (err: FetchError): void => {
      if (p.apiKey === undefined) return;
      expect(err.message).not.toContain(p.apiKey);
      expect(String((err.cause as Error | undefined)?.message ?? '')).not.toContain(p.apiKey);
      expect(JSON.stringify(err)).not.toContain(p.apiKey);
    };

    it.each([...COMMON_FAULTS, ...p.cases].map((c) => [c.name, c.kind, c] as const))(
      'maps %s to %s, counted once, key masked',
      async (_name, kind, c) => {
        srv.setHandler(() => c.reply);
        const f = make();
        const err = await failure(p.request(f));
        expect([err.kind, err.source]).toEqual([kind, p.source]);
        if (c.message) expect(err.message).toMatch(c.message);
        expectNoKey(err);
        expect(f.stats()).toMatchObject({ requests: 1, failures: 1, bars: 0 });
      },
    );

    it('accepts a slow server within the timeout', async () => {
      const slowMs = p.slowMs ?? Math.floor(p.timeoutMs / 3);
      expect(slowMs).toBeLessThan(p.timeoutMs);
      srv.setHandler(async (req) => ({ ...(await p.ok(req)), delayMs: slowMs }));
      const f = make();
      const bars = await (p.okRequest ? p.okRequest(f) : (p.request(f) as Promise<Bar[]>));
      expect(bars).toHaveLength(p.okBars);
      expect(f.stats()).toMatchObject({ failures: 0, bars: p.okBars });
    });

    it('aborts a request in flight when the caller signal fires', async () => {
      srv.setHandler(() => ({ hang: true }));
      const f = make();
      const ac = new AbortController();
      const before = srv.requests.length;
      const pending = failure(p.request(f, ac.signal));
      // Abort once the request is on the server, so that it cannot arrive late in another test.
      while (srv.requests.length === before) await new Promise((r) => setTimeout(r, 5));
      ac.abort();
      const err = await pending;
      expect([err.kind, err.source]).toEqual(['aborted', p.source]);
      expectNoKey(err);
      expect(f.stats().failures).toBe(1);
    });

    if (p.keyEcho) {
      const echo = p.keyEcho;
      it('scrubs the API key when a provider message echoes it', async () => {
        srv.setHandler(() => echo.reply);
        const err = await failure(p.request(make()));
        expect([err.kind, err.message]).toEqual([echo.kind, echo.message]);
        expectNoKey(err);
      });
    }
  });
}
