// Leases, fencing and shares against the real Redis, with an injected clock for every edge.
import { ManualClock } from '@pipeline/core';
import { deleteRedisPrefix, TEST_REDIS_URL, uniqueRedisPrefix } from '@pipeline/test-utils';
import Redis from 'ioredis';
import { desiredSymbols, ownerOf } from './assign';
import { createClusterCoordinator, type ClusterCoordinator } from './coordinator';

const SYMBOLS = Array.from({ length: 60 }, (_, i) => `SYM${i}`);
let redis: Redis;
let prefix: string;
let clock: ManualClock;

beforeEach(() => {
  redis = new Redis(TEST_REDIS_URL, { lazyConnect: false });
  prefix = uniqueRedisPrefix('cluster');
  clock = new ManualClock(Date.UTC(2026, 0, 5, 12, 0, 0));
});
afterEach(async () => {
  await deleteRedisPrefix(redis, prefix);
  redis.disconnect();
});

function member(id: string, symbols = SYMBOLS, leaseTtlMs = 5_000): ClusterCoordinator {
  return createClusterCoordinator({
    redis,
    prefix,
    cluster: 'c1',
    instanceId: id,
    symbols,
    clock,
    leaseTtlMs,
    // Rounds run only when a test calls tick(), so each edge case sees exactly the rounds it drives.
    events: false,
  });
}

/** Ticks every member until the shares settle (a handover takes one tick to release, one to acquire). */
async function settle(members: ClusterCoordinator[], rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) for (const m of members) await m.tick();
}

/** xs[i], or a failed test when there is none. */
function at<T>(xs: readonly T[], i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i}`);
  return x;
}

function assertExactlyOneOwner(members: ClusterCoordinator[]): void {
  for (const s of SYMBOLS) {
    const owners = members.filter((m) => m.isOwner(s)).map((m) => m.instanceId);
    expect({ s, owners: owners.length }).toEqual({ s, owners: 1 });
  }
}

describe('rendezvous assignment', () => {
  it('is deterministic, balanced and moves only the joining member share', () => {
    const three = ['a', 'b', 'c'];
    const many = Array.from({ length: 3000 }, (_, i) => `S${i}`);
    const shares = three.map((m) => desiredSymbols(many, three, m).length);
    expect(shares.reduce((x, y) => x + y, 0)).toBe(3000);
    for (const n of shares) expect(Math.abs(n - 1000)).toBeLessThan(120);
    const four = [...three, 'd'];
    const moved = many.filter((s) => ownerOf(s, three) !== ownerOf(s, four));
    // Only the symbols the new member wins move, about a quarter.
    for (const s of moved) expect(ownerOf(s, four)).toBe('d');
    expect(Math.abs(moved.length - 750)).toBeLessThan(120);
  });
});

describe('cluster coordinator', () => {
  it('gives every symbol exactly one owner and balances the shares', async () => {
    const ms = ['i1', 'i2', 'i3'].map((id) => member(id));
    await settle(ms);
    assertExactlyOneOwner(ms);
    for (const m of ms) expect(m.owned().size).toBeGreaterThan(8);
    expect(
      at(ms, 0)
        .members()
        .map((m) => m.id)
        .sort(),
    ).toEqual(['i1', 'i2', 'i3']);
  });

  it('a joining member takes a share within two ticks, never two owners meanwhile', async () => {
    const ms = ['i1', 'i2', 'i3'].map((id) => member(id));
    await settle(ms);
    const d = member('i4');
    const all = [...ms, d];
    for (let round = 0; round < 3; round++) {
      for (const m of all) {
        await m.tick();
        for (const s of SYMBOLS) expect(all.filter((x) => x.isOwner(s)).length).toBeLessThanOrEqual(1);
      }
    }
    assertExactlyOneOwner(all);
    expect(d.owned().size).toBeGreaterThan(5);
  });

  it('a dead member (no renewals) loses its symbols after the lease expires, not before', async () => {
    const ms = ['i1', 'i2', 'i3'].map((id) => member(id));
    await settle(ms);
    const dead = at(ms, 2);
    const orphaned = [...dead.owned().keys()];
    const alive = ms.slice(0, 2);
    clock.advance(4_000); // within the lease: nobody may take over
    await settle(alive, 1);
    for (const s of orphaned) expect(alive.some((m) => m.isOwner(s))).toBe(false);
    clock.advance(6_000); // lease (5 s) and heartbeat (10 s) gone
    await settle(alive, 2);
    for (const s of orphaned) expect(alive.filter((m) => m.isOwner(s)).length).toBe(1);
    // The new owners hold larger fencing tokens; the dead member's token is refused.
    const s0 = orphaned[0] ?? '';
    const newOwner = alive.find((m) => m.isOwner(s0));
    expect(newOwner?.owned().get(s0)).toBeGreaterThan(dead.owned().get(s0) ?? Infinity);
    expect(await dead.fence([s0])).toEqual(new Set());
    expect(await newOwner?.fence([s0])).toEqual(new Set([s0]));
  });

  it('renewal racing a takeover: a paused owner that wakes after expiry cannot renew or write', async () => {
    const a = member('a', ['X']);
    await a.tick();
    expect(a.isOwner('X')).toBe(true);
    const tokenA = a.owned().get('X');
    clock.advance(11_000); // a is paused past its lease and heartbeat
    const b = member('b', ['X']);
    await b.tick();
    expect(b.isOwner('X')).toBe(true);
    expect(b.owned().get('X')).toBe((tokenA ?? 0) + 1);
    // a wakes: its renewal is refused (b holds a newer lease), its fence check fails
    expect(await a.fence(['X'])).toEqual(new Set());
    await a.tick();
    expect(a.isOwner('X')).toBe(false);
    expect(b.isOwner('X')).toBe(true);
  });

  it('steady state: one Redis round per tick, whatever order Redis lists the members in', async () => {
    const ms = ['i1', 'i2', 'i3'].map((id) => member(id));
    await settle(ms);
    // Count the coordination rounds sent (the script command defined on the shared client).
    const client = redis as unknown as { pipelineTick: (...args: unknown[]) => Promise<string[]> };
    const original = client.pipelineTick.bind(redis);
    let rounds = 0;
    client.pipelineTick = (...args: unknown[]) => {
      rounds++;
      return original(...args);
    };
    try {
      // Each tick renews one heartbeat, so the expiry order of the member list changes every time.
      for (let i = 0; i < 9; i++) {
        clock.advance(100);
        const m = ms[(i * 2) % 3];
        if (m) await m.tick();
      }
      expect(rounds).toBe(9);
    } finally {
      client.pipelineTick = original;
    }
    assertExactlyOneOwner(ms);
  });

  it('renews before expiry keep the lease and the token', async () => {
    const a = member('a', ['X']);
    await a.tick();
    const t = a.owned().get('X');
    for (let i = 0; i < 10; i++) {
      clock.advance(1_000);
      await a.tick();
    }
    expect(a.owned().get('X')).toBe(t);
    const b = member('b', ['X']);
    await b.tick();
    expect(b.isOwner('X')).toBe(false);
  });

  it('leave() hands every symbol over at the next tick of the others', async () => {
    const ms = ['i1', 'i2', 'i3'].map((id) => member(id));
    await settle(ms);
    const released: string[] = [];
    at(ms, 0).onRelease((s) => released.push(...s));
    const had = [...at(ms, 0).owned().keys()];
    await at(ms, 0).leave();
    expect(released.sort()).toEqual(had.sort());
    await settle(ms.slice(1), 2);
    assertExactlyOneOwner(ms.slice(1));
    const leases = await at(ms, 1).leases();
    expect(leases.every((l) => l.owner === 'i2' || l.owner === 'i3')).toBe(true);
  });

  it('onAcquire reports taken-over symbols (the caller backfills and warms them)', async () => {
    const a = member('a');
    const got: string[] = [];
    a.onAcquire((s) => got.push(...s));
    await a.tick();
    expect(got.sort()).toEqual([...SYMBOLS].sort());
  });

  it('rejects bad options with the value quoted', () => {
    expect(() => member('a|b')).toThrow(/instanceId.*"a\|b"/);
    expect(() => member('a', SYMBOLS, 10)).toThrow(/leaseTtlMs.*10/);
  });
});

describe('prompt handover (events channel)', () => {
  it("moves a leaver's symbols to the survivors within ~200 ms, nobody calling tick()", async () => {
    const made: ClusterCoordinator[] = [];
    const live = (id: string): ClusterCoordinator => {
      // Real time (no injected clock): the Lua scripts read Redis' TIME, as in production.
      const c = createClusterCoordinator({ redis, prefix, cluster: 'c1', instanceId: id, symbols: SYMBOLS });
      made.push(c);
      return c;
    };
    try {
      const [a, b, c] = [live('a'), live('b'), live('c')];
      for (let i = 0; i < 3; i++) for (const m of [a, b, c]) await m.tick();
      assertExactlyOneOwner([a, b, c]);
      const leaving = [...c.owned().keys()];
      expect(leaving.length).toBeGreaterThan(0);
      const t0 = Date.now();
      await c.leave();
      let ms = Infinity;
      while (Date.now() - t0 < 2_000) {
        if (leaving.every((s) => a.isOwner(s) || b.isOwner(s))) {
          ms = Date.now() - t0;
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(ms).toBeLessThan(200);
      assertExactlyOneOwner([a, b]);
      expect(
        a
          .members()
          .map((m) => m.id)
          .sort(),
      ).toEqual(['a', 'b']);
      // The leases in Redis agree with what the survivors believe.
      const leases = await a.leases();
      for (const l of leases) expect(l.owner === 'a' ? a.isOwner(l.symbol) : b.isOwner(l.symbol)).toBe(true);

      // A joining member is seen by the others at once too: they release its share without a tick.
      const d = live('d');
      await d.tick(); // joins (publishes) and learns the members
      const t1 = Date.now();
      const dShare = desiredSymbols(SYMBOLS, ['a', 'b', 'd'], 'd');
      while (Date.now() - t1 < 2_000 && dShare.some((s) => a.isOwner(s) || b.isOwner(s)))
        await new Promise((r) => setTimeout(r, 5));
      expect(dShare.filter((s) => a.isOwner(s) || b.isOwner(s))).toEqual([]);
      expect(Date.now() - t1).toBeLessThan(200);
    } finally {
      for (const m of made) await m.close();
    }
  });
});
