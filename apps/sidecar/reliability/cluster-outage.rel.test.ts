// Cluster mode when a shared engine dies (issue 13's failure table): three sidecar processes
// (`src/main.ts`, configured by the environment) against a Yahoo-format server serving a deterministic
// synthetic walk, each through its own counting proxy.
//
// PostgreSQL down: a private `postgres` (initdb into a temp folder, a free port) is SIGKILLed while
// the three collect, one instance is SIGKILLed during the outage (its successor's takeover needs the
// history and must wait), and the server is started again. Redis down: a private `redis-server` is
// SIGKILLed for longer than LEASE_TTL (every lease lapses) and restarted empty.
// Each case ends with every closed 1m bar of every symbol in PostgreSQL exactly once, equal to what
// the server serves (outage minutes included). Neither the machine's PostgreSQL nor its Redis is
// stopped.
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { systemClock } from '@pipeline/core';
import { createSyntheticFetcher, createYahooFetcher } from '@pipeline/fetchers';
import { startProviderServer, type ProviderServer } from '@pipeline/fetchers/testing';
import {
  TEST_REDIS_URL,
  deleteRedisPrefix,
  getFreePort,
  startRedisServer,
  uniqueRedisPrefix,
  type RedisServerHandle,
} from '@pipeline/test-utils';
import { startPrivatePostgres, type PrivatePostgres } from '../../../packages/pg-store/test/private-postgres';
import { ownerOf } from '../src/cluster/assign';
import { type HealthReport } from '../src/sidecar';
import {
  spawnService,
  startFaultProxy,
  waitFor,
  waitReady,
  type ChildService,
  type FaultProxy,
} from './helpers';

jest.setTimeout(300_000);

const SYMBOLS = ['BTCUSD', 'ETHUSD', 'SOLUSD', 'XRPUSD', 'LTCUSD'];
const LEASE_TTL_S = 2;
const MIN = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Instance {
  id: string;
  svc: ChildService;
  proxy: FaultProxy;
  /** Live polls (`range=`) and history requests (`period1=`) per symbol, with the time seen. */
  seen: { symbol: string; at: number; history: boolean }[];
}

let server: ProviderServer;
beforeAll(async () => {
  server = await startProviderServer({ fetcher: createSyntheticFetcher({ clock: systemClock }) });
});
afterAll(async () => {
  await server?.close();
});

/** Three (or more) sidecars of one cluster, each through its own counting proxy. */
function cluster(env: () => Record<string, string>) {
  const instances: Instance[] = [];
  async function start(id: string): Promise<Instance> {
    const proxy = await startFaultProxy(server.url);
    const seen: Instance['seen'] = [];
    let counted = 0;
    const timer = setInterval(() => {
      const reqs = proxy.requests;
      for (; counted < reqs.length; counted++) {
        const r = reqs[counted];
        const m = r ? /\/v8\/finance\/chart\/([^/?]+)/.exec(r.path) : null;
        if (!r || !m?.[1]) continue;
        seen.push({
          symbol: decodeURIComponent(m[1]).replace('-', ''),
          at: Date.now(),
          history: r.query.has('period1'),
        });
      }
    }, 20);
    timer.unref();
    const svc = spawnService(
      {
        SYMBOLS: SYMBOLS.join(','),
        SOURCES: 'yahoo',
        YAHOO_BASE_URL: proxy.url,
        CLUSTER_NAME: 'outage',
        INSTANCE_ID: id,
        LEASE_TTL: String(LEASE_TTL_S),
        COLLECTION_INTERVAL: '1',
        BATCH_WRITE_INTERVAL: '2',
        BOOTSTRAP_DAYS: '1',
        STALE_AFTER: '30',
        ...env(),
      },
      await getFreePort(),
    );
    const inst = { id, svc, proxy, seen };
    instances.push(inst);
    return inst;
  }
  const alive = () =>
    instances.filter((i) => i.svc.child.exitCode === null && i.svc.child.signalCode === null);
  const healths = () => Promise.all(alive().map((i) => i.svc.health()));
  /**
   * Every symbol held by exactly one live instance, by its rendezvous owner among the live instances,
   * none still being taken over, no round failing: a state no further round changes.
   */
  async function settled(): Promise<Map<string, string>> {
    const owners = new Map<string, string>();
    const hs = await healths();
    for (const h of hs) {
      const c = h.cluster;
      if (!c || c.lastTickError !== null || c.takingOver.length > 0 || c.members !== hs.length)
        throw new Error(`not settled: ${JSON.stringify(c)}`);
      for (const s of c.owned) {
        if (owners.has(s)) throw new Error(`${s} owned twice`);
        owners.set(s, c.instanceId);
      }
    }
    if (owners.size !== SYMBOLS.length) throw new Error(`owned ${owners.size} of ${SYMBOLS.length}`);
    // Each owner once and every member count right is not enough: during start-up a round whose
    // settling re-run sees a second member join keeps the share of the member list before it until
    // its next round (the coordinator re-runs once per tick). The three then report members 3 and
    // every symbol owned once, while one instance still holds another's share and that one owns
    // nothing; Redis killed at that moment froze it ("owned 0" during the outage, twice on 94b7d69
    // and once on 98ae4e8; reproduced with three coordinators and the interleaving forced).
    const ids = hs.flatMap((h) => (h.cluster ? [h.cluster.instanceId] : []));
    for (const s of SYMBOLS) {
      const want = ownerOf(s, ids);
      if (owners.get(s) !== want)
        throw new Error(`not settled: ${s} held by ${owners.get(s)}, its rendezvous owner is ${want}`);
    }
    return owners;
  }
  async function stopAll(): Promise<void> {
    for (const i of alive()) i.svc.child.kill('SIGTERM');
    await Promise.all(instances.map((i) => i.svc.exited));
  }
  async function dispose(): Promise<void> {
    for (const i of instances) i.svc.dispose();
    await Promise.all(instances.map((i) => i.proxy.close()));
  }
  function logs(pattern: RegExp): string[] {
    return instances.flatMap((i) =>
      i.svc
        .output()
        .split('\n')
        .filter((l) => pattern.test(l))
        .map((l) => `${i.id}: ${l.slice(0, 300)}`),
    );
  }
  /** {@link settled} within `timeoutMs`; a timeout's error carries the last 30 cluster log lines. */
  function settledWithLogs(timeoutMs: number, what: string): Promise<Map<string, string>> {
    return waitFor(() => settled(), timeoutMs, what).catch((err: unknown) => {
      throw new Error(
        `${String(err)}\n${logs(/cluster|takeover|warn|error/)
          .slice(-30)
          .join('\n')}`,
      );
    });
  }
  return { instances, start, alive, healths, settled, settledWithLogs, stopAll, dispose, logs };
}

/** Each symbol's closed 1m bars in PostgreSQL over [from, to) equal what the server serves: none missing, none doubled. */
async function expectEveryMinuteOnce(url: string, from: number, to: number): Promise<number> {
  const yahoo = createYahooFetcher({ baseUrl: server.url, clock: systemClock });
  let checked = 0;
  try {
    for (const symbol of SYMBOLS) {
      const rows = execFileSync(
        'psql',
        [
          '-X',
          '-At',
          '-F',
          '\t',
          url,
          '-c',
          `SELECT ts, open, high, low, close FROM bars WHERE symbol='${symbol}' AND timeframe='1m' AND ts >= ${from} AND ts < ${to} ORDER BY ts`,
        ],
        { encoding: 'utf8' },
      )
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t').map(Number));
      const served = (await yahoo.fetchHistory({ symbol, timeframe: '1m', from, to })).filter((b) => b.final);
      expect({ symbol, ts: rows.map((r) => r[0]) }).toEqual({ symbol, ts: served.map((b) => b.ts) });
      rows.forEach((r, k) => {
        const s = served[k];
        expect(r.slice(1)).toEqual(
          [s?.open, s?.high, s?.low, s?.close].map((v) => expect.closeTo(v ?? NaN, 9)),
        );
      });
      checked += rows.length;
    }
  } finally {
    await yahoo.close();
  }
  return checked;
}

/** Waits past the next minute boundary (plus `extraMs`) so the minutes of interest are closed. */
async function pastNextMinute(extraMs: number): Promise<void> {
  const next = Math.floor(Date.now() / MIN) * MIN + MIN;
  await waitFor(() => (Date.now() >= next + extraMs ? true : undefined), 2 * MIN, 'the next minute');
}

describe('cluster mode: PostgreSQL dies while three instances collect', () => {
  let pgServer: PrivatePostgres;
  const prefix = uniqueRedisPrefix('cluster-pgdown');
  const c = cluster(() => ({
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    HISTORY_URL: `postgres://postgres@127.0.0.1:${pgServer.port}/pipeline`,
  }));

  beforeAll(async () => {
    pgServer = await startPrivatePostgres();
    execFileSync('psql', ['-X', '-q', pgServer.adminUrl, '-c', 'CREATE DATABASE pipeline']);
  });
  afterAll(async () => {
    await c.dispose();
    await pgServer?.destroy();
    const redis = new Redis(TEST_REDIS_URL);
    await deleteRedisPrefix(redis, prefix).catch(() => undefined);
    await redis.quit();
  });

  it('keeps every bar buffered (bounded) and retried, says so in /health, waits with takeovers, and loses nothing', async () => {
    const startedAt = Date.now();
    await Promise.all(['pg-a', 'pg-b', 'pg-c'].map((id) => c.start(id)));
    await Promise.all(c.instances.map((i) => waitReady(i.svc, 90_000)));
    // Start-up settles in 4-18 s here; a takeover whose backfill the shared history budget refuses
    // is retried a cycle later, and once took longer than 40 s (helper's diagnostic runs).
    await waitFor(() => c.settled(), 90_000, 'three instances sharing every symbol');

    // PostgreSQL dies.
    await pgServer.kill();
    const killedAt = Date.now();
    // Writes are kept: the instances go on collecting (the fence is Redis), flushes fail and are
    // retried, and /health says the store is failing with the rows it holds.
    const during = await waitFor(
      async () => {
        const hs = await c.healths();
        if (
          hs.every((h) => h.storage.sqlite === 'failing' && h.storage.pendingWrites > 0 && h.status !== 'ok')
        )
          return hs;
        // Thrown, so a timeout names the instance that lagged and what it was doing.
        throw new Error(
          c
            .alive()
            .map((inst, k) => {
              const h = hs[k];
              const polls = inst.seen.filter((r) => !r.history && r.at > killedAt).length;
              const history = inst.seen.filter((r) => r.history && r.at > killedAt).length;
              return `${inst.id}: status ${h?.status}, store ${h?.storage.sqlite}, pending ${h?.storage.pendingWrites}, owned ${JSON.stringify(h?.cluster?.owned)}, live polls since the kill ${polls}, history requests ${history}`;
            })
            .join('; '),
        );
      },
      // Usually about 1 s here (printed below). CI once timed out at 30 s without saying which
      // instance lagged; the thrown message now names it, and the wait allows a poll delayed by the
      // shared budget's rolling minute (60 a minute for the whole cluster).
      90_000,
      'every instance reporting the store failing',
    );
    const failingMs = Date.now() - killedAt;
    for (const h of during) expect(h.storage.pendingWrites).toBeLessThan(100_000); // maxPending: bounded
    const pollsBefore = c.instances.map((i) => i.seen.filter((r) => !r.history && r.at > killedAt).length);

    // One instance dies during the outage: its symbols' takeover needs the history (the last stored
    // bar) and waits, retried every cycle, until PostgreSQL is back.
    const victim = c.instances[0];
    if (!victim) throw new Error('no instance');
    const victimSymbols = (await victim.svc.health()).cluster?.owned ?? [];
    victim.svc.child.kill('SIGKILL');
    await victim.svc.exited;
    const survivors = c.alive();
    await waitFor(
      async () => {
        const hs = await Promise.all(survivors.map((i) => i.svc.health()));
        return victimSymbols.every((s) => hs.some((h) => h.cluster?.takingOver.includes(s)))
          ? true
          : undefined;
      },
      15_000,
      "the survivors holding the killed instance's leases, their takeover waiting for the history",
    );
    await sleep(4_000);
    for (const h of await Promise.all(survivors.map((i) => i.svc.health())))
      for (const s of victimSymbols)
        expect(h.cluster?.takingOver.includes(s) || !h.cluster?.owned.includes(s)).toBe(true);
    expect(c.logs(/takeover failed; retried next cycle/).length).toBeGreaterThan(0);
    // The survivors kept polling their own symbols all along.
    survivors.forEach((i) => {
      const k = c.instances.indexOf(i);
      expect(i.seen.filter((r) => !r.history && r.at > killedAt).length).toBeGreaterThan(pollsBefore[k] ?? 0);
    });
    // At least one minute boundary inside the outage: those closed bars exist only in the buffers.
    await pastNextMinute(3_000);
    const outageMs = Date.now() - killedAt;

    // PostgreSQL is back: the buffers drain by themselves, the waiting takeovers run (backfilling
    // from the last stored bar), the store is `up` again.
    await pgServer.start();
    const restartedAt = Date.now();
    await waitFor(() => c.settled(), 60_000, 'the survivors owning every symbol again');
    await waitFor(
      async () => {
        const hs = await c.healths();
        return hs.every((h) => h.storage.sqlite === 'up') ? true : undefined;
      },
      60_000,
      'the store up again on every instance',
    ).catch((err: unknown) => {
      throw new Error(
        `${String(err)}\n${c
          .logs(/flush|store|takeover/)
          .slice(-20)
          .join('\n')}`,
      );
    });
    const recoveredMs = Date.now() - restartedAt;

    await pastNextMinute(4_000);
    const endedAt = Date.now();
    await c.stopAll();
    const from = Math.floor(startedAt / MIN) * MIN - 30 * MIN; // inside the start-up backfill (1 day)
    const to = Math.floor(endedAt / MIN) * MIN - MIN; // closed minutes only
    const rows = await expectEveryMinuteOnce(
      `postgres://postgres@127.0.0.1:${pgServer.port}/pipeline`,
      from,
      to,
    );
    process.stdout.write(
      `cluster, PostgreSQL down ${(outageMs / 1000).toFixed(1)} s (one instance SIGKILLed during it): ` +
        `store failing on every instance ${failingMs} ms after the kill; ` +
        `store up again on every instance ${recoveredMs} ms after the restart; ${rows} closed bars checked, none missing or doubled\n`,
    );
  });
});

describe('cluster mode: Redis dies while three instances collect', () => {
  let redisServer: RedisServerHandle;
  const db = `pipeline_cluster_redisdown_${process.pid}_${Date.now() % 1e6}`;
  const pgUrl = `postgres://postgres@127.0.0.1:5432/${db}`;
  const c = cluster(() => ({
    REDIS_URL: redisServer.url,
    REDIS_KEY_PREFIX: 'rel:',
    HISTORY_URL: pgUrl,
  }));

  beforeAll(async () => {
    redisServer = await startRedisServer();
    execFileSync('psql', [
      '-X',
      '-q',
      'postgres://postgres@127.0.0.1:5432/postgres',
      '-c',
      `CREATE DATABASE ${db}`,
    ]);
  });
  afterAll(async () => {
    await c.dispose();
    await redisServer?.kill();
    execFileSync('psql', [
      '-X',
      '-q',
      'postgres://postgres@127.0.0.1:5432/postgres',
      '-c',
      `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`,
    ]);
  });

  it('stops writing, says so in /health, regains one owner per symbol after the restart, and loses nothing', async () => {
    const startedAt = Date.now();
    await Promise.all(['r-a', 'r-b', 'r-c'].map((id) => c.start(id)));
    await Promise.all(c.instances.map((i) => waitReady(i.svc, 90_000)));
    // As in the PostgreSQL case: 4-18 s usually, a refused takeover backfill retried next cycle.
    const before = await c.settledWithLogs(90_000, 'three instances sharing every symbol');

    // Redis dies for longer than LEASE_TTL: every heartbeat and lease lapses.
    await redisServer.kill();
    const killedAt = Date.now();
    const during = await waitFor(
      async () => {
        const hs = await c.healths();
        return hs.every(
          (h) => h.storage.cache === 'redis:down' && h.cluster?.lastTickError && h.status !== 'ok',
        )
          ? hs
          : undefined;
      },
      20_000,
      'every instance reporting Redis down and the coordinator round failing',
    );
    // Each still knows what it owned (the leases it will confirm or lose when Redis answers): its
    // share before the outage, which rendezvous hashing makes non-empty for each of the three.
    for (const h of during) {
      const id = h.cluster?.instanceId;
      const share = SYMBOLS.filter((s) => before.get(s) === id);
      expect({ id, owned: [...(h.cluster?.owned ?? [])].sort() }).toEqual({ id, owned: share.sort() });
      expect(share.length).toBeGreaterThan(0);
    }
    await sleep(3_000);
    const quietFrom = Date.now();
    await sleep((LEASE_TTL_S + 6) * 1000);
    // Nobody polls while no lease can be confirmed (the fence refuses every write).
    const pollsInOutage = c.instances.flatMap((i) => i.seen.filter((r) => !r.history && r.at > quietFrom));
    expect(pollsInOutage).toEqual([]);
    const outageMs = Date.now() - killedAt;

    // Redis is back, empty: heartbeats and leases are established again, every symbol has exactly
    // one owner (checked on every instance's /health and on /cluster), and the symbols whose writes
    // were refused are taken over again (backfilled from their last stored bar).
    await redisServer.restart();
    const restartedAt = Date.now();
    const after = await c.settledWithLogs(60_000, 'one owner per symbol after the restart');
    const regainedMs = Date.now() - restartedAt;
    // The hot cache's own connections reconnect on their own schedule (ioredis backoff).
    await waitFor(
      async () => ((await c.healths()).every((h) => h.storage.cache === 'redis:ready') ? true : undefined),
      20_000,
      'the hot cache ready again on every instance',
    );
    // The same rendezvous shares as before the outage: nobody's symbols moved.
    expect([...after.entries()].sort()).toEqual([...before.entries()].sort());
    const hs = await c.healths();
    for (const h of hs) {
      expect(h.storage.cache).toBe('redis:ready');
      expect(h.cluster?.lastTickError).toBeNull();
    }
    const view = (await (await fetch(`${c.instances[0]?.svc.baseUrl}/cluster`)).json()) as {
      leases: { symbol: string; owner: string | null }[];
    };
    expect(new Map(view.leases.map((l) => [l.symbol, l.owner]))).toEqual(after);

    // From now on each symbol is polled by its owner only: never two owners writing.
    // (Yahoo's shared 60 a minute, 80 % of it for polls, over 5 symbols: each is polled every ~6 s.)
    const windowFrom = Date.now() + 1_000;
    await waitFor(
      () =>
        SYMBOLS.every((symbol) =>
          c.instances.some((i) =>
            i.seen.some((r) => r.symbol === symbol && !r.history && r.at >= windowFrom),
          ),
        )
          ? true
          : undefined,
      30_000,
      'every symbol polled after the recovery',
    );
    await sleep(5_000);
    for (const symbol of SYMBOLS) {
      const pollers = c.instances.filter((i) =>
        i.seen.some((r) => r.symbol === symbol && !r.history && r.at >= windowFrom),
      );
      expect({ symbol, pollers: pollers.map((i) => i.id) }).toEqual({ symbol, pollers: [after.get(symbol)] });
    }
    // Reads of another owner's symbol through any instance: fresh again, from the refilled cache.
    const foreign = SYMBOLS.find((s) => after.get(s) !== 'r-a') ?? '';
    const bars = (await (await fetch(`${c.instances[0]?.svc.baseUrl}/bars/${foreign}?limit=5`)).json()) as {
      bars: unknown[];
      stale: boolean;
    };
    expect(bars.bars).toHaveLength(5);

    await pastNextMinute(4_000);
    const endedAt = Date.now();
    const finalHealth: HealthReport[] = await c.healths();
    await c.stopAll();
    for (const i of c.instances) expect((await i.svc.exited).code).toBe(0);
    const from = Math.floor(startedAt / MIN) * MIN - 30 * MIN;
    const to = Math.floor(endedAt / MIN) * MIN - MIN;
    const rows = await expectEveryMinuteOnce(pgUrl, from, to);
    expect(finalHealth.every((h) => h.status === 'ok' || h.status === 'degraded')).toBe(true);
    process.stdout.write(
      `cluster, Redis down ${(outageMs / 1000).toFixed(1)} s: one owner per symbol again ${regainedMs} ms after the restart; ` +
        `${rows} closed bars checked, none missing or doubled\n`,
    );
  });
});
