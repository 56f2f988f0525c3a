// The dashboard in a real browser: a listening sidecar (real cache, SQLite file, breaker, features,
// scanner and push stream around scripted sources), Debian's chromium driven by playwright-core.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTempDirs } from '@pipeline/test-utils';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildApp } from '../src/http/api';
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
async function startSidecar(env: Record<string, string>, apiToken?: string) {
  const h = createHarness(env);
  const app = buildApp(h.sidecar, { dashboard: { dir: DASHBOARD_DIR }, ...(apiToken ? { apiToken } : {}) });
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
    h.fetchers[0].mode = 'transient';
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

describe('dashboard with 1,000 symbols', () => {
  let s: Awaited<ReturnType<typeof startSidecar>>;
  let page: Page;
  const symbols = Array.from({ length: 1000 }, (_, i) => `T${String(i).padStart(4, '0')}`);

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
    // The scroll height covers all 1,000 rows; scrolling to the end shows the last symbol.
    const height = await page.$eval('#symbols .vt-spacer', (el) => el.getBoundingClientRect().height);
    expect(height).toBe(1000 * 28);
    await page.$eval('#symbols .vt-viewport', (el) => (el.scrollTop = el.scrollHeight));
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#symbols .vt-spacer .vt-row:not([hidden]) span:first-child')].some(
        (e) => e.textContent === 'T0999',
      ),
    );
    expect(await page.locator('#symbols .vt-spacer .vt-row').count()).toBe(domRows);
    // Prices arrived for the symbols in view.
    const price = await page.$eval(
      '#symbols .vt-spacer .vt-row:not([hidden]) span:nth-child(2)',
      (e) => e.textContent,
    );
    expect(price).toMatch(/^\d/);
  });
});

function ohlcv(b: ChartBar): ChartBar {
  return { ts: b.ts, open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume };
}
