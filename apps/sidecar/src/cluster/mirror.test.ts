// The mirror reads the symbols other instances own from the shared cache (here the in-process hot
// cache of @pipeline/redis-kb), at most `perRefresh` of them per refresh, in turn.
import { type Bar } from '@pipeline/core';
import { createMemoryHotCache } from '@pipeline/redis-kb';
import { createSymbolStates } from '../state/symbol-state';
import { type StoredSignal } from '../strategy/scanner';
import { createClusterMirror, type ClusterMirrorCache } from './mirror';

const T0 = Date.UTC(2026, 0, 5, 12, 0);
const SYMBOLS = ['S0', 'S1', 'S2', 'S3', 'S4', 'S5', 'MINE'];

function bar(symbol: string, close: number): Bar {
  return {
    symbol,
    timeframe: '1m',
    ts: T0,
    open: 1,
    high: 2,
    low: 0.5,
    close,
    volume: 1,
    source: 'synthetic',
    final: false,
    quality: 1,
  };
}

async function setup(perRefresh: number) {
  const cache = createMemoryHotCache();
  for (const s of SYMBOLS) await cache.writeBars([bar(s, 1.5)]);
  const read: string[] = [];
  const featureReads: string[] = [];
  // The cache as the mirror sees it, noting which symbols each refresh reads.
  const seen: ClusterMirrorCache = {
    lastBar: async (symbol, tf) => {
      read.push(symbol);
      return cache.lastBar(symbol, tf);
    },
    getSignals: (symbols) => cache.getSignals(symbols),
    getFeatures: (symbol) => {
      featureReads.push(symbol);
      return cache.getFeatures(symbol);
    },
  };
  const states = createSymbolStates({ symbols: SYMBOLS, toBroker: (s) => s, staleAfterMs: 10_000 });
  const adopted: StoredSignal[] = [];
  const mirror = createClusterMirror({
    cache: seen,
    symbols: SYMBOLS,
    timeframe: '1m',
    states,
    isOwner: (s) => s === 'MINE',
    adoptSignal: (sig) => adopted.push(sig),
    now: () => T0 + 1_000,
    perRefresh,
  });
  return { cache, read, featureReads, states, mirror };
}

describe('cluster mirror', () => {
  it('reads every symbol owned elsewhere each refresh while they are few, never its own', async () => {
    const { read, states, mirror } = await setup(200);
    await mirror.refresh();
    expect(read.sort()).toEqual(['S0', 'S1', 'S2', 'S3', 'S4', 'S5']);
    expect(states.get('S3').lastBar?.close).toBe(1.5);
    expect(states.get('MINE').lastBar).toBeNull();
  });

  it('reads at most perRefresh of them per refresh, in turn, so each is read within ceil(n / perRefresh) refreshes', async () => {
    const { cache, read, states, mirror } = await setup(4);
    const rounds: string[][] = [];
    for (let i = 0; i < 3; i++) {
      read.length = 0;
      await mirror.refresh();
      rounds.push([...read]);
    }
    for (const r of rounds) expect(r).toHaveLength(4);
    expect(rounds[0]).toEqual(['S0', 'S1', 'S2', 'S3']);
    expect(rounds[1]).toEqual(['S4', 'S5', 'S0', 'S1']);
    expect(rounds[2]).toEqual(['S2', 'S3', 'S4', 'S5']);
    // A newer bar of the owner reaches this instance within two refreshes (6 symbols, 4 per refresh).
    await cache.writeBars([bar('S5', 1.75)]);
    await mirror.refresh();
    await mirror.refresh();
    expect(states.get('S5').lastBar?.close).toBe(1.75);
  });

  it("takes a symbol's features from its signal's indicators; reads the features key only without a signal", async () => {
    const { cache, featureReads, mirror } = await setup(200);
    const signal = {
      symbol: 'S1',
      indicators: { ema12: 1.5, rsi14: null },
      dataTs: T0,
      dataAt: T0 + 500,
      generatedAt: T0 + 600,
    };
    await cache.setSignal('S1', signal);
    await cache.setFeatures('S2', { ema12: 2.5, dataTs: T0 });
    await mirror.refresh();
    expect(mirror.features('S1')).toEqual({ ema12: 1.5, rsi14: null });
    expect(mirror.features('S2')).toEqual({ ema12: 2.5 });
    expect(featureReads).not.toContain('S1');
    expect(featureReads).toContain('S2');
  });
});
