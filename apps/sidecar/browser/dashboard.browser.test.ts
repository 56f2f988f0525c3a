// The dashboard in a real browser: a listening sidecar (real cache, SQLite file, breaker, features,
// scanner and push stream around scripted sources), Debian's chromium driven by playwright-core.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTempDirs } from '@pipeline/test-utils';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildApp } from '../src/http/api';
import { type StreamHubOptions } from '../src/http/stream-hub';
import { createHarness, type Harness } from '../test/harness';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DASHBOARD_DIR = join(__dirname, '..', 'dist', 'dashboard');
const SCREENSHOT = join(__dirname, '..', '..', '..', 'bench-results', 'dashboard.png');
const TOKEN = 'dashboard-token-0123456789';
const MINUTE = 60_000;

interface ChartBar {
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}
/** What the page exposes for this test (dashboard/src/main.ts). */
declare global {
  interface Window {
    __dashboard: {
      chartBars(): ChartBar[];
      selected(): string | null;
      streamState(): string;
      lastEventId(): number;
      eventsReceived(): number;
      streamErrors(): string[];
      resets(): number;
    };
  }
}

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  cleanupTempDirs();
});

/** A real sidecar on a free port; cycles are run by the test (its clock is a manual one). */
async function startSidecar(env: Record<string, string>, apiToken?: string, stream?: StreamHubOptions) {
  const h = createHarness(env);
  const app = buildApp(h.sidecar, {
    dashboard: { dir: DASHBOARD_DIR },
    ...(apiToken ? { apiToken } : {}),
    // Event ids on the harness's clock, which the bars' times and the store's backfill use.
    stream: { now: () => h.clock.now(), ...stream },
  });
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  const cycle = async (n = 1) => {
    for (let i = 0; i < n; i++) {
      h.clock.advance(MINUTE);
      await h.sidecar.runCycle();
    }
  };
  const stop = async () => {
    await app.close();
    await h.sidecar.stop();
  };
  return { h, app, baseUrl, cycle, stop };
}

describe('dashboard in chromium against a real sidecar (API_TOKEN set)', () => {
  let s: Awaited<ReturnType<typeof startSidecar>>;
  let h: Harness;
  let page: Page;
  const headers = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    // Four symbols: a failing first source fails four calls a cycle, so its breaker (5 consecutive
    // failures) opens in the second cycle.
    s = await startSidecar({ SYMBOLS: 'EURUSD,XAUUSD,NAS100,AAPL' }, TOKEN);
    h = s.h;
    await s.cycle(40);
    page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    page.setDefaultTimeout(15_000);
  });
  afterAll(async () => {
    await page?.close();
    await s?.stop();
  });

  it('asks for the token, then loads the symbols table', async () => {
    await page.goto(`${s.baseUrl}/`);
    await page.locator('#token-dialog').waitFor({ state: 'visible' });
    expect(await page.locator('#token-message').textContent()).toMatch(/needs its API token/);
    await page.fill('#token-input', 'wrong-token');
    await page.click('#token-form button[type=submit]');
    await page.waitForFunction(() => /refused/.test(document.getElementById('token-message')!.textContent));
    await page.fill('#token-input', TOKEN);
    await page.click('#token-form button[type=submit]');
    await page.locator('#token-dialog').waitFor({ state: 'hidden' });
    await page.waitForFunction(
      () => document.querySelectorAll('#symbols .vt-spacer .vt-row:not([hidden])').length === 4,
    );
    const symbols = await page.$$eval('#symbols .vt-spacer .vt-row:not([hidden]) span:first-child', (els) =>
      els.map((e) => e.textContent),
    );
    expect(symbols.sort()).toEqual(['AAPL', 'EURUSD', 'NAS100', 'XAUUSD']);
    // The token is kept for the tab only.
    expect(await page.evaluate(() => sessionStorage.getItem('pipeline.dashboard.token'))).toBe(TOKEN);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
  });

  it('charts the same bars as /bars, and follows the push stream', async () => {
    const selected = await page
      .waitForFunction(() => window.__dashboard.selected())
      .then((j) => j.jsonValue());
    const fromApi = async () => {
      const r = await fetch(`${s.baseUrl}/bars/${selected as string}?limit=500`, { headers });
      return ((await r.json()) as { bars: ChartBar[] }).bars.map(ohlcv);
    };
    const expected = await fromApi();
    expect(expected.length).toBeGreaterThan(30);
    await page.waitForFunction(() => window.__dashboard.chartBars().length > 0);
    expect((await page.evaluate(() => window.__dashboard.chartBars())).map(ohlcv)).toEqual(expected);

    // New bars arrive by the stream only (the page does not poll /bars).
    await page.waitForFunction(() => window.__dashboard.streamState() === 'open');
    await s.cycle(3);
    const after = await fromApi();
    expect(after.length).toBeGreaterThan(expected.length);
    await page.waitForFunction((n) => window.__dashboard.chartBars().length === n, after.length, {
      timeout: 10_000,
    });
    expect((await page.evaluate(() => window.__dashboard.chartBars())).map(ohlcv)).toEqual(after);
    expect(await page.evaluate(() => window.__dashboard.lastEventId())).toBeGreaterThan(0);
    // The latest signal with its reasons.
    await page.waitForFunction(() => document.querySelectorAll('#signal li').length > 0);
  });

  it("turns a failing source's badge red within two cycles", async () => {
    const badge = page.locator('#sources .badge[data-source=yahoo]');
    expect(await badge.getAttribute('data-level')).toBe('ok');
    const yahoo = h.fetchers.find((f) => f.source === 'yahoo');
    if (!yahoo) throw new Error('the harness has no yahoo source');
    yahoo.mode = 'transient';
    await s.cycle(2);
    await page.waitForFunction(
      () =>
        document.querySelector('#sources .badge[data-source=yahoo]')?.getAttribute('data-level') === 'down',
      undefined,
      { timeout: 5_000 },
    );
    expect(await badge.textContent()).toMatch(/breaker open/);
    expect(await badge.evaluate((el) => getComputedStyle(el).borderLeftColor)).toBe('rgb(218, 54, 51)');
    expect(await page.locator('#sources .badge[data-source=synthetic]').getAttribute('data-level')).toBe(
      'ok',
    );
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    await page.mouse.move(5, 5); // no crosshair left over from the clicks
    await page.screenshot({ path: SCREENSHOT });
  });
});

describe('dashboard reconnect: finished bars missed while away come from the store', () => {
  let s: Awaited<ReturnType<typeof startSidecar>>;
  let page: Page;

  beforeAll(async () => {
    // A ring of 3 events per kind: five cycles away evict every bar the page missed.
    s = await startSidecar({ SYMBOLS: 'EURUSD,XAUUSD' }, undefined, { ringSize: 3 });
    await s.cycle(40);
    page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    page.setDefaultTimeout(15_000);
  });
  afterAll(async () => {
    await page?.close();
    await s?.stop();
  });

  it('after the stream is cut for five cycles, the chart holds every finished bar /bars has, no reload', async () => {
    await page.goto(`${s.baseUrl}/`);
    await page.waitForFunction(() => window.__dashboard.streamState() === 'open');
    await page.waitForFunction(() => window.__dashboard.chartBars().length > 0);
    const selected = await page.evaluate(() => window.__dashboard.selected());
    // The page has an event id to resume from.
    await s.cycle(1);
    await page.waitForFunction(() => window.__dashboard.lastEventId() > 0);
    // Cut every connection (EventSource retries after the stream's `retry: 2000`) and move on.
    s.app.server.closeAllConnections();
    await s.cycle(5);
    const r = await fetch(`${s.baseUrl}/bars/${selected ?? ''}?limit=500`);
    const fromApi = ((await r.json()) as { bars: (ChartBar & { final: boolean })[] }).bars;
    const finished = fromApi.filter((b) => b.final).map(ohlcv);
    const newest = finished.at(-1)?.ts ?? 0;
    await page.waitForFunction((ts) => window.__dashboard.chartBars().some((b) => b.ts === ts), newest, {
      timeout: 10_000,
    });
    const chart = (await page.evaluate(() => window.__dashboard.chartBars())).map(ohlcv);
    expect(chart.filter((b) => b.ts <= newest)).toEqual(finished);
    expect(await page.evaluate(() => window.__dashboard.resets())).toBe(0);
    expect(await page.evaluate(() => window.__dashboard.streamState())).toBe('open');
  });
});

describe('dashboard: bars older than the last drawn one', () => {
  let s: Awaited<ReturnType<typeof startSidecar>>;
  let page: Page;
  const SYMBOL = 'EURUSD';
  const chartBars = async () => (await page.evaluate(() => window.__dashboard.chartBars())).map(ohlcv);
  const priceCell = () =>
    page.evaluate(
      (sym) =>
        [...document.querySelectorAll('#symbols .vt-spacer .vt-row:not([hidden])')].find(
          (r) => r.firstElementChild?.textContent === sym,
        )?.children[1]?.textContent ?? null,
      SYMBOL,
    );
  const barsFromApi = async () => {
    const r = await fetch(`${s.baseUrl}/bars/${SYMBOL}?limit=500`);
    return ((await r.json()) as { bars: (ChartBar & { final: boolean })[] }).bars;
  };
  /** The table's price format (dashboard/src/main.ts). */
  const fmtPrice = (p: number) => (p >= 1000 ? p.toFixed(2) : p >= 10 ? p.toFixed(3) : p.toFixed(5));
  /** Strictly increasing times: no minute twice, none out of order. */
  const inOrder = (bars: ChartBar[]) => bars.every((b, i) => i === 0 || b.ts > (bars[i - 1]?.ts ?? 0));

  beforeAll(async () => {
    s = await startSidecar({ SYMBOLS: 'EURUSD,XAUUSD' });
    // Live (the late finaliser runs after each cycle only then); the test runs the cycles itself.
    await s.h.sidecar.start({ skipBootstrap: true, loop: false });
    await s.cycle(40);
    page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    page.setDefaultTimeout(15_000);
    await page.goto(`${s.baseUrl}/`);
    await page.waitForFunction(() => window.__dashboard.streamState() === 'open');
    await page.waitForFunction((sym) => window.__dashboard.selected() === sym, SYMBOL);
    await page.waitForFunction(() => window.__dashboard.chartBars().length > 0);
  });
  afterAll(async () => {
    await page?.close();
    await s?.stop();
  });

  it('a period finalised late (its sources down at the close) redraws its own candle, not a new one at the end', async () => {
    await s.cycle(1);
    // The cycle's forming bar (this minute) is on the chart.
    const minute = s.h.clock.now() - (s.h.clock.now() % MINUTE);
    await page.waitForFunction((ts) => window.__dashboard.chartBars().at(-1)?.ts === ts, minute);
    const forming = (await chartBars()).at(-1);
    if (!forming) throw new Error('no bar on the chart');
    // Every source fails the cycle after the close: the period's final bar does not come with the
    // next poll, so the chart (and the store) keep its forming version.
    for (const f of s.h.fetchers) f.mode = 'transient';
    await s.cycle(1);
    for (const f of s.h.fetchers) f.mode = 'ok';
    // Next cycle: the poll brings newer bars; after it the late finaliser fetches the period's history
    // and writes its final bar, which the stream carries to the page.
    await s.cycle(1);
    const stored = async () => (await barsFromApi()).find((b) => b.ts === forming.ts);
    for (let i = 0; i < 50 && !(await stored())?.final; i++) await new Promise((r) => setTimeout(r, 20));
    const final = await stored();
    expect(final).toMatchObject({ ts: forming.ts, final: true });
    if (!final) throw new Error('not finalised');
    expect(ohlcv(final)).not.toEqual(forming); // the provider's final values differ from the snapshot
    const expected = (await barsFromApi()).map(ohlcv);
    expect(expected.at(-1)?.ts).toBeGreaterThan(forming.ts);
    await page.waitForFunction(
      ([ts, close]) => window.__dashboard.chartBars().find((b) => b.ts === ts)?.close === close,
      [forming.ts, final.close] as const,
      { timeout: 10_000 },
    );
    const chart = await chartBars();
    expect(inOrder(chart)).toBe(true);
    expect(chart).toEqual(expected);
    // The table's price stays the newest bar's close, not the late final's.
    const newest = expected.at(-1);
    if (!newest) throw new Error('no bars from /bars');
    expect(await priceCell()).toBe(fmtPrice(newest.close));
    expect(fmtPrice(newest.close)).not.toBe(fmtPrice(final.close));
  });

  it('older bars in one burst (a backfill) are put in time order, before the first candle too, without duplicates', async () => {
    const before = await chartBars();
    const first = before[0];
    const middle = before[Math.floor(before.length / 2)];
    const last = before.at(-1);
    if (!first || !middle || !last) throw new Error('too few bars on the chart');
    const price = await priceCell();
    const bar = (ts: number, close: number) => ({
      symbol: SYMBOL,
      timeframe: '1m',
      ts,
      open: close,
      high: close + 0.001,
      low: close - 0.001,
      close,
      volume: 3,
      source: 'synthetic',
      final: true,
      quality: 1,
    });
    // Three minutes before the first drawn one, newest first, and new values for two drawn minutes.
    const older = [1, 2, 3].map((k) => bar(first.ts - k * MINUTE, 1.5 + k / 1000));
    const replaced = [bar(middle.ts, 1.4242), bar(first.ts, 1.4343)];
    for (const b of [...older, ...replaced]) s.app.streamHub.publish('bars', SYMBOL, b);
    await page.waitForFunction((id) => window.__dashboard.lastEventId() >= id, s.app.streamHub.lastId);
    const chart = await chartBars();
    expect(chart).toHaveLength(before.length + 3);
    expect(inOrder(chart)).toBe(true);
    const expected = [...older.reverse(), ...replaced.slice(1), ...before.slice(1)]
      .map((b) => (b.ts === middle.ts ? bar(middle.ts, 1.4242) : b))
      .map(ohlcv);
    expect(chart).toEqual(expected);
    expect(chart.at(-1)).toEqual(last);
    expect(await priceCell()).toBe(price);
  });
});

describe('dashboard with 1,000 symbols, live from the push stream', () => {
  let s: Awaited<ReturnType<typeof startSidecar>>;
  let page: Page;
  const symbols = Array.from({ length: 1000 }, (_, i) => `T${String(i).padStart(4, '0')}`);
  /** The visible row's cell text of a symbol (null when its row is not in the DOM window). */
  const cellOf = (symbol: string, column: number) =>
    page.evaluate(
      ([sym, col]) => {
        const row = [...document.querySelectorAll('#symbols .vt-spacer .vt-row:not([hidden])')].find(
          (r) => r.firstElementChild?.textContent === sym,
        );
        return row?.children[col]?.textContent ?? null;
      },
      [symbol, column] as const,
    );

  beforeAll(async () => {
    s = await startSidecar({ SYMBOLS: symbols.join(',') });
    await s.cycle(1);
    page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    page.setDefaultTimeout(15_000);
  });
  afterAll(async () => {
    await page?.close();
    await s?.stop();
  });

  it('lists every symbol while keeping only the rows in view in the DOM', async () => {
    await page.goto(`${s.baseUrl}/`);
    await page.waitForFunction(
      () => document.querySelector('#symbols .vt-spacer .vt-row span')?.textContent === 'T0000',
    );
    const domRows = await page.locator('#symbols .vt-spacer .vt-row').count();
    expect(domRows).toBeGreaterThan(10);
    expect(domRows).toBeLessThan(100);
    // The scroll height covers all 1,000 rows.
    const height = await page.$eval('#symbols .vt-spacer', (el) => el.getBoundingClientRect().height);
    expect(height).toBe(1000 * 28);
  });

  it('updates prices by the stream over several cycles without being dropped as a slow consumer', async () => {
    await page.waitForFunction(() => window.__dashboard.streamState() === 'open');
    const subscribers = s.app.streamHub.subscribers;
    expect(subscribers).toBe(2); // bars+health for all symbols, features+signals for the selected one
    const prices: (string | null)[] = [await cellOf('T0000', 1)];
    const received: number[] = [await page.evaluate(() => window.__dashboard.eventsReceived())];
    const cpu: number[] = [];
    const pageMs: number[] = [];
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const taskMs = async () =>
      1000 *
      ((await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0);
    // The bars the hub publishes (the page's subscription for every symbol), counted beside it.
    let bars = 0;
    let lastBarId = 0;
    const off = s.app.streamHub.subscribe({
      filter: { symbols: new Set(), kinds: new Set(['bars']) },
      send: (e) => {
        bars++;
        lastBarId = e.id;
      },
    });
    for (let c = 0; c < 5; c++) {
      bars = 0;
      const t0 = process.cpuUsage();
      const p0 = await taskMs();
      await s.cycle(1);
      const u = process.cpuUsage(t0);
      cpu.push((u.user + u.system) / 1000);
      expect(bars).toBeGreaterThanOrEqual(1000); // every symbol's bar moved this cycle
      // The page has seen the cycle's last bar (the stream keeps up), and T0000's price changed.
      await page.waitForFunction((id) => window.__dashboard.lastEventId() >= id, lastBarId, {
        timeout: 10_000,
      });
      pageMs.push((await taskMs()) - p0);
      await page.waitForFunction(
        (prev) => {
          const row = [...document.querySelectorAll('#symbols .vt-spacer .vt-row:not([hidden])')].find(
            (r) => r.firstElementChild?.textContent === 'T0000',
          );
          return row !== undefined && row.children[1]?.textContent !== prev;
        },
        prices[prices.length - 1] ?? null,
      );
      prices.push(await cellOf('T0000', 1));
      received.push(await page.evaluate(() => window.__dashboard.eventsReceived()));
      expect(s.app.streamHub.subscribers).toBe(subscribers + 1); // the page's two and the counter
    }
    off();
    // A batch source (one request for every symbol) hands the hub a cycle's bars in one turn: 2,000
    // events at once, twice STREAM_MAX_QUEUE's default, to a page that reads them all.
    expect(s.app.streamHub.options.maxQueue).toBe(1000);
    const bar = (symbol: string, close: number) => ({
      symbol,
      timeframe: '1m',
      ts: s.h.clock.now() - (s.h.clock.now() % MINUTE),
      open: close,
      high: close,
      low: close,
      close,
      volume: 1,
      source: 'synthetic',
      final: false,
      quality: 1,
    });
    for (const k of [1, 2])
      for (const sym of symbols) s.app.streamHub.publish('bars', sym, bar(sym, 4321 + k));
    await page.waitForFunction((id) => window.__dashboard.lastEventId() >= id, s.app.streamHub.lastId);
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('#symbols .vt-spacer .vt-row:not([hidden])')].find(
          (r) => r.firstElementChild?.textContent === 'T0000',
        )?.children[1]?.textContent === '4323.00',
    );
    expect(s.app.streamHub.subscribers).toBe(subscribers);
    expect(await page.evaluate(() => window.__dashboard.streamErrors())).toEqual([]);
    expect(await page.evaluate(() => window.__dashboard.streamState())).toBe('open');
    expect(new Set(prices).size).toBe(prices.length);
    expect(prices.every((p) => /^\d/.test(p ?? ''))).toBe(true);
    console.log(
      `1,000 symbols: ${JSON.stringify(received)} stream messages received (cumulative), ` +
        `sidecar+test process CPU ms per cycle ${cpu.map((x) => x.toFixed(0)).join(',')}, ` +
        `page main-thread task ms per cycle ${pageMs.map((x) => x.toFixed(0)).join(',')}`,
    );
  });

  it('stays responsive: scrolling to the last symbol and selecting it charts its bars', async () => {
    await page.$eval('#symbols .vt-viewport', (el) => (el.scrollTop = el.scrollHeight));
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#symbols .vt-spacer .vt-row:not([hidden]) span:first-child')].some(
        (e) => e.textContent === 'T0999',
      ),
    );
    expect(await cellOf('T0999', 1)).toMatch(/^\d/);
    const t0 = Date.now();
    await page
      .locator('#symbols .vt-spacer .vt-row:not([hidden])', { hasText: 'T0999' })
      .click({ timeout: 5_000 });
    await page.waitForFunction(() => window.__dashboard.selected() === 'T0999');
    const r = await fetch(`${s.baseUrl}/bars/T0999?limit=500`);
    const expected = ((await r.json()) as { bars: ChartBar[] }).bars.map(ohlcv);
    expect(expected.length).toBeGreaterThan(0);
    // Until T0999's /bars answer lands the chart still shows the symbol selected before (every
    // symbol has as many bars, so a wait on the count alone passed before the answer): wait until
    // its newest bar is T0999's, then compare every bar.
    const newest = expected.at(-1);
    await page.waitForFunction(
      ([n, ts, close]) => {
        const bars = window.__dashboard.chartBars();
        const last = bars.at(-1);
        return bars.length === n && last?.ts === ts && last.close === close;
      },
      [expected.length, newest?.ts ?? NaN, newest?.close ?? NaN] as const,
      { timeout: 5_000 },
    );
    expect((await page.evaluate(() => window.__dashboard.chartBars())).map(ohlcv)).toEqual(expected);
    expect(await page.locator('#chart-title').textContent()).toBe('T0999');
    console.log(`1,000 symbols: click on T0999 to its chart in ${Date.now() - t0} ms (wall)`);
    // A further cycle still reaches the page and T0999's chart.
    const lastTs = expected.at(-1)?.ts ?? 0;
    await s.cycle(1);
    await page.waitForFunction((ts) => window.__dashboard.chartBars().some((b) => b.ts > ts), lastTs, {
      timeout: 10_000,
    });
    expect(await page.evaluate(() => window.__dashboard.streamErrors())).toEqual([]);
  });
});

function ohlcv(b: ChartBar): ChartBar {
  return { ts: b.ts, open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume };
}
