// Cluster mode end to end (issue 13): sidecar processes (`src/main.ts`, configured by the environment
// only) against a Yahoo-format server serving a deterministic synthetic walk (every minute's bar is a
// function of time, so what the server served can be asked again and compared), the machine's Redis
// (own key prefix) and PostgreSQL (own database, created and dropped). Each instance talks to the
// server through its own counting proxy, so the test sees which instance fetched which symbol.
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { type Bar, systemClock } from '@pipeline/core';
import { createSyntheticFetcher, createYahooFetcher } from '@pipeline/fetchers';
import { startProviderServer, type ProviderServer } from '@pipeline/fetchers/testing';
import { TEST_REDIS_URL, deleteRedisPrefix, getFreePort, uniqueRedisPrefix } from '@pipeline/test-utils';
import { ownerOf } from '../src/cluster/assign';
import { type ClusterView } from '../src/cluster/stage';
import {
  spawnService,
  startFaultProxy,
  waitFor,
  waitReady,
  type ChildService,
  type FaultProxy,
} from './helpers';

jest.setTimeout(240_000);

const SYMBOLS = ['BTCUSD', 'ETHUSD', 'SOLUSD', 'XRPUSD', 'LTCUSD'];
const LEASE_TTL_S = 2;
const CYCLE_S = 1;
const MIN = 60_000;
const DB = `pipeline_cluster_${process.pid}_${Date.now() % 1e6}`;
const PG = (db: string) => `postgres://postgres@127.0.0.1:5432/${db}`;
const psql = (db: string, sql: string): string =>
  execFileSync('psql', ['-X', '-At', '-F', '\t', PG(db), '-c', sql], { encoding: 'utf8' });
/** Yahoo's published-free budget as the fetchers count it (DEFAULT_RATE_LIMITS.yahoo.perMinute). */
const YAHOO_PER_MINUTE = 60;

interface Instance {
  id: string;
  svc: ChildService;
  proxy: FaultProxy;
  /** Live polls (`range=`) and history requests (`period1=`) per symbol, with the time seen. */
  seen: { symbol: string; at: number; history: boolean }[];
}

describe('cluster mode: several sidecars, one pipeline', () => {
  let server: ProviderServer;
  let prefix: string;
  const instances: Instance[] = [];
  /** Every request any instance sent to the provider, with its time. */
  const allRequests: number[] = [];

  beforeAll(async () => {
    server = await startProviderServer({ fetcher: createSyntheticFetcher({ clock: systemClock }) });
    prefix = uniqueRedisPrefix('cluster');
    psql('postgres', `CREATE DATABASE ${DB}`);
  });
  afterAll(async () => {
    for (const i of instances) i.svc.dispose();
    await Promise.all(instances.map((i) => i.proxy.close()));
    await server?.close();
    const redis = new Redis(TEST_REDIS_URL);
    await deleteRedisPrefix(redis, prefix).catch(() => undefined);
    await redis.quit();
    try {
      psql('postgres', `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    } catch {
      // best effort
    }
  });

  async function startInstance(id: string): Promise<Instance> {
    const proxy = await startFaultProxy(server.url);
    const seen: Instance['seen'] = [];
    const inst: Instance = { id, proxy, seen, svc: undefined as unknown as ChildService };
    // Count by symbol: wrap the handler's view through the proxy's request log.
    let counted = 0;
    const timer = setInterval(() => {
      const reqs = proxy.requests;
      for (; counted < reqs.length; counted++) {
        const r = reqs[counted];
        const m = r ? /\/v8\/finance\/chart\/([^/?]+)/.exec(r.path) : null;
        if (!r || !m?.[1]) continue;
        const symbol = decodeURIComponent(m[1]).replace('-', '');
        seen.push({ symbol, at: Date.now(), history: r.query.has('period1') });
        allRequests.push(Date.now());
      }
    }, 20);
    timer.unref();
    inst.svc = spawnService(
      {
        SYMBOLS: SYMBOLS.join(','),
        SOURCES: 'yahoo',
        YAHOO_BASE_URL: proxy.url,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        HISTORY_URL: PG(DB),
        CLUSTER_NAME: 'reltest',
        INSTANCE_ID: id,
        LEASE_TTL: String(LEASE_TTL_S),
        COLLECTION_INTERVAL: String(CYCLE_S),
        // Long enough that a SIGKILLed instance loses its buffered bars: its successor must backfill them.
        BATCH_WRITE_INTERVAL: '120',
        BOOTSTRAP_DAYS: '1',
        STALE_AFTER: '30',
      },
      await getFreePort(),
    );
    instances.push(inst);
    return inst;
  }

  const view = async (i: Instance): Promise<ClusterView> =>
    (await (await fetch(`${i.svc.baseUrl}/cluster`)).json()) as ClusterView;
  const ownersOf = (v: ClusterView) => new Map(v.leases.map((l) => [l.symbol, l.owner]));
  const alive = () =>
    instances.filter((i) => i.svc.child.exitCode === null && i.svc.child.signalCode === null);

  it('shares the symbols, fails over, hands over, takes in a newcomer, and stores every minute once', async () => {
    const startedAt = Date.now();
    const three = await Promise.all(['inst-a', 'inst-b', 'inst-c'].map(startInstance));
    const [a, b, c] = [0, 1, 2].map((k) => {
      const inst = three[k];
      if (!inst) throw new Error('instance missing');
      return inst;
    }) as [Instance, Instance, Instance];
    await Promise.all([a, b, c].map((i) => waitReady(i.svc, 60_000)));

    // Every symbol owned by exactly one of the three, spread over more than one of them.
    const settled = await waitFor(
      async () => {
        const v = await view(a);
        const owners = ownersOf(v);
        const ids = v.members.map((m) => m.id);
        // Settled: every symbol held by the member the rendezvous hash gives it.
        return ids.length === 3 && SYMBOLS.every((s) => owners.get(s) === ownerOf(s, ids)) ? v : undefined;
      },
      20_000,
      'three members owning every symbol',
    );
    // Every instance answers /cluster and /health for the whole cluster.
    const h = await a.svc.health();
    expect(h.cluster).toMatchObject({ cluster: 'reltest', instanceId: 'inst-a', members: 3 });

    // Steady state: each symbol is polled by its owner only (how often is the shared budget's and
    // the request planner's business: 5 symbols at 1 Hz want more than Yahoo's 60 a minute).
    const settledAt = Date.now();
    const owners = ownersOf(settled);
    const byId = new Map([a, b, c].map((i) => [i.id, i]));
    await waitFor(
      () =>
        SYMBOLS.every((s) =>
          byId.get(owners.get(s)!)!.seen.some((r) => r.symbol === s && !r.history && r.at > settledAt),
        )
          ? true
          : undefined,
      30_000,
      'every symbol polled by its owner',
    ).catch((err: unknown) => {
      const lines = [a, b, c].flatMap((i) =>
        i.svc
          .output()
          .split('\n')
          .filter((l) => /cluster|takeover|warn|error/.test(l))
          .slice(-15)
          .map((l) => `${i.id}: ${l.slice(0, 400)}`),
      );
      throw new Error(`${String(err)}\n${lines.join('\n')}`);
    });
    const windowFrom = settledAt + 1_000; // requests already in flight at the settle may still land
    // Each instance plans its share of Yahoo's poll budget (48 of 60 a minute over 5 symbols: each
    // symbol about every 6 s), so wait until every symbol was polled inside the window, then a little.
    await waitFor(
      () =>
        SYMBOLS.every((symbol) =>
          [a, b, c].some((i) => i.seen.some((s) => s.symbol === symbol && !s.history && s.at >= windowFrom)),
        )
          ? true
          : undefined,
      30_000,
      'every symbol polled inside the window',
    );
    await new Promise((r) => setTimeout(r, 3_000));
    for (const symbol of SYMBOLS) {
      const pollers = new Set(
        [a, b, c].filter((i) => i.seen.some((s) => s.symbol === symbol && !s.history && s.at >= windowFrom)),
      );
      expect([...pollers].map((i) => i.id)).toEqual([owners.get(symbol)]);
    }
    // Reads of a symbol another instance owns come from the shared cache: bars, signal and features.
    const foreign = SYMBOLS.find((s) => owners.get(s) !== 'inst-c')!;
    const bars = (await (await fetch(`${c.svc.baseUrl}/bars/${foreign}?limit=5`)).json()) as {
      bars: Bar[];
      stale: boolean;
    };
    expect(bars.bars.length).toBe(5);
    expect(bars.stale).toBe(false);
    expect((await fetch(`${c.svc.baseUrl}/signals/${foreign}`)).status).toBe(200);
    expect((await fetch(`${c.svc.baseUrl}/features/${foreign}`)).status).toBe(200);

    // SIGKILL the instance owning the most symbols: they resume elsewhere within LEASE_TTL + a cycle.
    const [victim = a] = [a, b, c].sort(
      (x, y) =>
        settled.leases.filter((l) => l.owner === y.id).length -
        settled.leases.filter((l) => l.owner === x.id).length,
    );
    const victimSymbols = [...ownersOf(await view(victim)).entries()]
      .filter(([, o]) => o === victim.id)
      .map(([s]) => s);
    expect(victimSymbols.length).toBeGreaterThan(0);
    // The victim flushes nothing before it dies (BATCH_WRITE_INTERVAL=120), so its live minutes are
    // only in its memory. Widen the hole to ten minutes (more than a live poll's three bars) by
    // removing the newest stored minutes of its symbols: only the successor's backfill can fill it.
    const holeFrom = Math.floor(Date.now() / MIN) * MIN - 10 * MIN;
    psql(
      DB,
      `DELETE FROM bars WHERE symbol IN (${victimSymbols.map((s) => `'${s}'`).join(',')}) AND ts >= ${holeFrom}`,
    );
    const killedAt = Date.now();
    victim.svc.child.kill('SIGKILL');
    await victim.svc.exited;
    const survivors = [a, b, c].filter((i) => i !== victim);
    // Resumed = a survivor holds the lease and has finished the takeover (backfill, warm-up): from
    // then on it polls the symbol whenever the shared provider budget grants a request.
    await waitFor(
      async () => {
        const hs = await Promise.all(survivors.map((i) => i.svc.health()));
        return victimSymbols.every((s) =>
          hs.some((h) => h.cluster!.owned.includes(s) && !h.cluster!.takingOver.includes(s)),
        )
          ? true
          : undefined;
      },
      15_000,
      'the killed instance symbols taken over by the survivors',
    ).catch(async (err: unknown) => {
      const hs = await Promise.all(survivors.map((i) => i.svc.health()));
      const lines = survivors.flatMap((i) =>
        i.svc
          .output()
          .split('\n')
          .filter((l) => /took over|takeover|coordinator round|budget|chunk|skipped_open/.test(l))
          .slice(-20)
          .map((l) => `${i.id}: ${l.slice(0, 400)}`),
      );
      // The source's breaker on each survivor: a takeover backfill is skipped while it is open or cooling down.
      const breakers = hs.map((h) =>
        h.sources.map((s) => ({ name: s.name, breaker: s.breaker, coolingDownUntil: s.coolingDownUntil })),
      );
      throw new Error(
        `${String(err)}\nvictim symbols ${victimSymbols.join(',')}; survivors: ${JSON.stringify(hs.map((h) => h.cluster))}\n` +
          `survivors' sources: ${JSON.stringify(breakers)}\n${lines.join('\n')}`,
      );
    });
    const resumedMs = Date.now() - killedAt;
    await waitFor(
      () =>
        victimSymbols.every((s) =>
          survivors.some((i) => i.seen.some((r) => r.symbol === s && !r.history && r.at > killedAt)),
        )
          ? true
          : undefined,
      30_000,
      'the killed instance symbols polled by the survivors',
    );
    const firstPollMs = Date.now() - killedAt;
    // Each successor backfilled the minutes since the last stored bar from the provider (compared
    // with what the server serves below).
    for (const symbol of victimSymbols) {
      const line = survivors
        .flatMap((i) => i.svc.output().split('\n'))
        .filter((l) => l.includes('took over symbol') && l.includes(`"symbol":"${symbol}"`))
        .map((l) => JSON.parse(l) as { backfilled: number; timestamp: string })
        .find((l) => Date.parse(l.timestamp) > killedAt);
      expect(line?.backfilled).toBeGreaterThanOrEqual(10);
    }
    const takeoverLog = survivors
      .flatMap((i) => i.svc.output().split('\n'))
      .filter((l) => /took over|takeover failed|coordinator round failed/.test(l));
    if (resumedMs >= (LEASE_TTL_S + CYCLE_S) * 1000 + 1_500)
      process.stdout.write(takeoverLog.join('\n') + '\n');
    // Lease expiry + one cycle, plus the takeover's own work (backfill request, warm-up) on a busy box.
    expect(resumedMs).toBeLessThan((LEASE_TTL_S + CYCLE_S) * 1000 + 1_500);

    // SIGTERM one survivor: it flushes, releases and tells the others on the events channel; the other
    // runs a coordinator round at once and holds its symbols within a second (issue 13).
    const [leaver, stayer] = survivors as [Instance, Instance];
    const leaverSymbols = [...ownersOf(await view(stayer)).entries()]
      .filter(([, o]) => o === leaver.id)
      .map(([s]) => s);
    const termAt = Date.now();
    leaver.svc.child.kill('SIGTERM');
    let handoverMs = Infinity;
    if (leaverSymbols.length > 0) {
      await waitFor(
        async () => {
          const o = ownersOf(await view(stayer));
          return leaverSymbols.every((s) => o.get(s) === stayer.id) ? true : undefined;
        },
        10_000,
        'handover after SIGTERM',
      );
      handoverMs = Date.now() - termAt;
    }
    const exit = await leaver.svc.exited;
    expect(exit.code).toBe(0);
    if (leaverSymbols.length > 0) expect(handoverMs).toBeLessThan(1_000);

    // A fourth instance joins and takes a share.
    const d = await startInstance('inst-d');
    await waitReady(d.svc, 60_000);
    await waitFor(
      async () => ((await view(stayer)).leases.some((l) => l.owner === 'inst-d') ? true : undefined),
      20_000,
      'the newcomer owning a share',
    );

    // Run past a minute boundary so the killed instance's minutes are closed bars, then stop cleanly.
    const lastMinute = Math.floor(Date.now() / MIN) * MIN;
    await waitFor(() => (Date.now() >= lastMinute + MIN + 4_000 ? true : undefined), 70_000, 'next minute');
    const endedAt = Date.now();
    for (const i of alive()) i.svc.child.kill('SIGTERM');
    for (const i of instances)
      expect((await i.svc.exited).signal === 'SIGKILL' || (await i.svc.exited).code === 0).toBe(true);

    // Never more than the provider's budget in any rolling minute, summed over every instance.
    const times = [...allRequests].sort((x, y) => x - y);
    let worst = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while ((times[i] ?? 0) - (times[j] ?? 0) >= 60_000) j++;
      worst = Math.max(worst, i - j + 1);
    }
    expect(worst).toBeLessThanOrEqual(YAHOO_PER_MINUTE);

    // PostgreSQL: every closed minute of every symbol once, equal to what the server serves.
    const yahoo = createYahooFetcher({ baseUrl: server.url, clock: systemClock });
    const from = Math.floor(startedAt / MIN) * MIN - 30 * MIN; // inside the start-up backfill (1 day)
    const to = Math.floor(endedAt / MIN) * MIN - MIN; // closed minutes only
    try {
      for (const symbol of SYMBOLS) {
        const rows = psql(
          DB,
          `SELECT ts, open, high, low, close FROM bars WHERE symbol='${symbol}' AND timeframe='1m' AND ts >= ${from} AND ts < ${to} ORDER BY ts`,
        )
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split('\t').map(Number));
        const served = (await yahoo.fetchHistory({ symbol, timeframe: '1m', from, to })).filter(
          (x) => x.final,
        );
        expect(rows.map((r) => r[0])).toEqual(served.map((x) => x.ts)); // none missing, none doubled
        for (const [k, r] of rows.entries()) {
          const s = served[k];
          expect(r.slice(1)).toEqual(
            [s?.open, s?.high, s?.low, s?.close].map((v) => expect.closeTo(v ?? NaN, 9)),
          );
        }
      }
    } finally {
      await yahoo.close();
    }
    process.stdout.write(
      `cluster: resumed after SIGKILL in ${resumedMs} ms (first poll after ${firstPollMs} ms), handover after SIGTERM in ${handoverMs} ms, ` +
        `busiest rolling minute ${worst} requests\n`,
    );
  });
});
