// The "Polygon" quick start of README.md, run against recorded answers on local HTTP and ws servers.
import { type Bar } from '@pipeline/core';
import { fixtureReply, readFixture, startFixtureServer } from '@pipeline/test-utils';
import { createPolygonFetcher, createPolygonStream } from '@pipeline/fetchers';
import { startPolygonWsFixtureServer } from './ws-fixture-server';

it('README quick start: Polygon REST and WebSocket', async () => {
  const http = await startFixtureServer(() =>
    fixtureReply('polygon/aggs-C-EURUSD-1-day-2023-01-01-to-2023-01-10-forex.json'),
  );
  const POLYGON_API_KEY = 'demo-key';
  const ws = await startPolygonWsFixtureServer(POLYGON_API_KEY);
  const POLYGON_BASE_URL = http.url; // README: 'https://api.polygon.io' (the default)
  const POLYGON_WS_URL = ws.url; // README: '' -> wss://socket.polygon.io/{market}
  try {
    // --- README code ---
    const live: Bar[] = [];
    const seen: string[] = [];
    const polygon = createPolygonFetcher({ apiKey: POLYGON_API_KEY, baseUrl: POLYGON_BASE_URL });
    const history = await polygon.fetchHistory({
      symbol: 'EURUSD',
      timeframe: '1d',
      from: Date.UTC(2023, 0, 1),
      to: Date.UTC(2023, 0, 11),
    });
    await polygon.close();

    const stream = createPolygonStream({
      apiKey: POLYGON_API_KEY,
      url: POLYGON_WS_URL,
      market: 'stocks',
      symbols: ['AAPL', 'TSLA'],
    });
    const offBar = stream.onBar((bar) => live.push(bar));
    const offStatus = stream.onStatus((s) => seen.push(s.state)); // 'idle' / 'reconnecting': poll REST meanwhile
    const offError = stream.onError((err) => {
      if (err.fatal) seen.push(err.code); // e.g. POLYGON_WS_AUTH_FAILED: the stream has stopped
    });
    await stream.connect(); // resolves once authenticated; subscriptions follow
    // ... later
    // --- end (shutdown below) ---
    ws.broadcast(readFixture('polygon/ws-stocks-captured-frames-2020-T-Q-AM.jsonl').split('\n')[3]!);
    const deadline = Date.now() + 3000;
    while (live.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    // --- README code ---
    offBar();
    offStatus();
    offError();
    await stream.close();
    // --- end ---
    expect(history).toHaveLength(10);
    expect(live[0]).toMatchObject({ symbol: 'TSLA', timeframe: '1m', close: 694.99 });
    expect(seen).toEqual(expect.arrayContaining(['connecting', 'authenticating', 'authenticated']));
  } finally {
    await ws.close();
    await http.close();
  }
});
