// The dashboard: symbols table, chart of the selected symbol, its latest signal, the sources' health
// and bootstrap progress. First paint from the JSON routes, then live from the push stream (/stream);
// /health is re-read every few seconds and at once on a `health` event, because budgets, latencies
// and ages move every cycle without a change worth an event.
import type { BarsResponse, FeaturesResponse, Signal, SignalsResponse } from '@pipeline/client';
import { UnauthorizedError, getJson, getToken, openStream, setToken, type StreamMessage } from './api';
import { createPriceChart, type ChartBar } from './chart';
import { createVirtualTable } from './table';

const HEALTH_REFRESH_MS = 2_000;
const BARS_SHOWN = 500;

interface Row {
  symbol: string;
  brokerSymbol: string;
  price: number | null;
  /** The bar `price` came from (ts, epoch ms): an older bar (a late final, a backfill) does not set it. */
  priceTs: number | null;
  ageMs: number | null;
  stale: boolean;
  source: string | null;
  quality: number | null;
}

/**
 * The parts of /health the page reads. @pipeline/client's health schema leaves these open (the sidecar
 * owns their shape in src/state/health.ts, which imports Node-only code), so they are spelled out here.
 */
interface Source {
  name: string;
  breaker: string;
  coolingDownUntil: number | null;
  successRate: number | null;
  latencyMs: number | null;
  budget: { perMinuteLeft: number | null; perDayLeft: number | null };
}
interface HealthResponse {
  status: 'ok' | 'degraded' | 'down';
  phase: string;
  loop: { cycles: number };
  sources: Source[];
  symbols: {
    symbol: string;
    brokerSymbol: string;
    ageMs: number | null;
    stale: boolean;
    source: string | null;
  }[];
  bootstrap: {
    chunksPlanned: number;
    chunksDone: number;
    fraction: number;
    bars: number;
    current: string | null;
    failedChunks: number;
    done: boolean;
  } | null;
}
type StreamBar = ChartBar & { symbol: string; source?: string; quality?: number };

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const rows = new Map<string, Row>();
let rowList: Row[] = [];
let selected: string | null = null;
let healthAt = performance.now();
let streamState = 'connecting';
let lastEventId = 0;
/** Stream events received, and the server's close reasons (SLOW_CONSUMER...), for the browser test. */
let eventsReceived = 0;
let resets = 0;
const streamErrors: string[] = [];
let closeStream: (() => void) | null = null;
/** Features and signals are subscribed for the selected symbol only: at 1,000 symbols they would
 * double the events of a cycle for data the page does not show. */
let closeSelectedStream: (() => void) | null = null;
let healthTimer: number | undefined;

const fmtPrice = (p: number | null) =>
  p === null ? '–' : p >= 1000 ? p.toFixed(2) : p >= 10 ? p.toFixed(3) : p.toFixed(5);
const fmtAge = (ms: number | null) => {
  if (ms === null) return '–';
  const s = Math.max(0, Math.round((ms + performance.now() - healthAt) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
};

const table = createVirtualTable<Row>($('symbols'), {
  rowHeight: 28,
  key: (r) => r.symbol,
  rowClass: (r) => (r.stale ? 'stale' : ''),
  onSelect: (r) => void select(r.symbol),
  columns: [
    { title: 'Symbol', className: 'sym', cell: (r) => r.symbol },
    { title: 'Price', className: 'num', cell: (r) => fmtPrice(r.price) },
    { title: 'Age', className: 'num', cell: (r) => fmtAge(r.ageMs) },
    { title: 'Stale', cell: (r) => (r.stale ? 'stale' : 'fresh') },
    { title: 'Source', cell: (r) => r.source ?? '–' },
    { title: 'Quality', className: 'num', cell: (r) => (r.quality === null ? '–' : r.quality.toFixed(2)) },
  ],
});
const chart = createPriceChart($('chart'));

function rowOf(symbol: string): Row {
  let r = rows.get(symbol);
  if (!r) {
    r = {
      symbol,
      brokerSymbol: symbol,
      price: null,
      priceTs: null,
      ageMs: null,
      stale: false,
      source: null,
      quality: null,
    };
    rows.set(symbol, r);
    rowList = [...rows.values()].sort((a, b) => a.symbol.localeCompare(b.symbol));
    table.setRows(rowList);
  }
  return r;
}

function renderHealth(h: HealthResponse): void {
  healthAt = performance.now();
  for (const s of h.symbols) {
    const r = rowOf(s.symbol);
    r.brokerSymbol = s.brokerSymbol;
    r.ageMs = s.ageMs;
    r.stale = s.stale;
    r.source = s.source ?? r.source;
  }
  table.refresh();
  const status = $('status');
  status.textContent = `${h.status} · ${h.phase} · ${h.symbols.length} symbols · cycle ${h.loop.cycles}`;
  status.className = `pill ${h.status}`;
  $('sources').replaceChildren(...h.sources.map(sourceBadge));
  renderBootstrap(h.bootstrap);
}

function sourceLevel(s: Source): 'down' | 'warn' | 'ok' {
  if (s.breaker === 'open' || s.coolingDownUntil !== null || s.successRate === 0) return 'down';
  if (s.breaker !== 'closed' || (s.successRate !== null && s.successRate < 0.9)) return 'warn';
  return 'ok';
}

function sourceBadge(s: Source): HTMLElement {
  const el = document.createElement('div');
  el.className = `badge ${sourceLevel(s)}`;
  el.dataset.source = s.name;
  el.dataset.level = sourceLevel(s);
  const left = [s.budget.perMinuteLeft, s.budget.perDayLeft].map((n) => (n === null ? '∞' : String(n)));
  const facts = [
    `breaker ${s.breaker}`,
    `budget ${left[0]}/min ${left[1]}/day`,
    `latency ${s.latencyMs === null ? '–' : `${Math.round(s.latencyMs)} ms`}`,
    `success ${s.successRate === null ? '–' : `${Math.round(s.successRate * 100)}%`}`,
    ...(s.coolingDownUntil !== null
      ? [`cooling down until ${new Date(s.coolingDownUntil).toISOString().slice(11, 19)}`]
      : []),
  ];
  const name = document.createElement('strong');
  name.textContent = s.name;
  const detail = document.createElement('span');
  detail.textContent = facts.join(' · ');
  el.append(name, detail);
  return el;
}

function renderBootstrap(b: HealthResponse['bootstrap']): void {
  const el = $('bootstrap');
  if (!b) {
    el.textContent = 'bootstrap: not run (BOOTSTRAP_DAYS=0 or history present)';
    return;
  }
  const pct = Math.round(b.fraction * 100);
  el.innerHTML = '';
  const bar = document.createElement('progress');
  bar.max = 100;
  bar.value = pct;
  const text = document.createElement('span');
  text.textContent = b.done
    ? `bootstrap done: ${b.bars} bars in ${b.chunksDone} chunks${b.failedChunks ? `, ${b.failedChunks} failed` : ''}`
    : `bootstrap ${pct}% · ${b.chunksDone}/${b.chunksPlanned} chunks · ${b.bars} bars · ${b.current ?? ''}`;
  el.append(bar, text);
}

function renderSignal(s: Signal | null): void {
  const el = $('signal');
  el.replaceChildren();
  const h = document.createElement('h2');
  if (!s) {
    h.textContent = selected ? `${selected}: no signal yet` : 'no symbol selected';
    el.append(h);
    return;
  }
  h.textContent = `${s.symbol} (${s.brokerSymbol}) ${s.direction.toUpperCase()}`;
  h.className = `dir ${s.direction}`;
  const meta = document.createElement('p');
  meta.textContent =
    `confidence ${(s.confidence * 100).toFixed(0)}% · price ${fmtPrice(s.price)} · ` +
    `stop ${fmtPrice(s.stop ?? null)} · target ${fmtPrice(s.target ?? null)} · data ${s.dataTime ?? new Date(s.dataTs).toISOString()}` +
    (s.stale ? ' · STALE' : '');
  const reasons = document.createElement('ul');
  for (const r of s.reasons) {
    const li = document.createElement('li');
    li.textContent = r;
    reasons.append(li);
  }
  el.append(h, meta, reasons);
}

async function select(symbol: string): Promise<void> {
  selected = symbol;
  table.setSelected(symbol);
  $('chart-title').textContent = symbol;
  const q = encodeURIComponent(symbol);
  const bars = await getJson<BarsResponse>(`/bars/${q}?limit=${BARS_SHOWN}`);
  if (selected !== symbol) return;
  chart.setBars(bars.bars);
  const [features, signal] = await Promise.all([
    getJson<FeaturesResponse>(`/features/${q}`).catch(() => null),
    getJson<Signal>(`/signals/${q}`).catch(() => null),
  ]);
  if (selected !== symbol) return;
  if (features) chart.setFeatures(features.values, features.dataTs ?? null);
  renderSignal(signal);
  closeSelectedStream?.();
  closeSelectedStream = openStream(['features', 'signals'], [symbol], onStream, () => undefined);
}

/** Reads the selected symbol's features and signal again (after a `reset` for those kinds). */
async function refreshSelected(): Promise<void> {
  const symbol = selected;
  if (!symbol) return;
  const q = encodeURIComponent(symbol);
  const [features, signal] = await Promise.all([
    getJson<FeaturesResponse>(`/features/${q}`).catch(() => null),
    getJson<Signal>(`/signals/${q}`).catch(() => null),
  ]);
  if (selected !== symbol) return;
  if (features) chart.setFeatures(features.values, features.dataTs ?? null);
  renderSignal(signal);
}

function onStream(m: StreamMessage): void {
  lastEventId = Math.max(lastEventId, m.id);
  eventsReceived++;
  switch (m.kind) {
    case 'bars': {
      const b = m.data as StreamBar;
      const r = rowOf(b.symbol);
      // The price column follows the newest bar; an older one only redraws its candle.
      if (r.priceTs === null || b.ts >= r.priceTs) {
        r.price = b.close;
        r.priceTs = b.ts;
        r.source = b.source ?? r.source;
        r.quality = b.quality ?? r.quality;
        table.refresh();
      }
      if (b.symbol === selected) chart.upsert(b);
      break;
    }
    case 'features': {
      const f = m.data as FeaturesResponse;
      if (f.symbol === selected) chart.setFeatures(f.values, f.dataTs ?? null);
      break;
    }
    case 'signals': {
      const s = m.data as Signal;
      const r = rowOf(s.symbol);
      r.quality = s.quality ?? r.quality;
      if (s.symbol === selected) renderSignal(s);
      break;
    }
    case 'health':
      void refreshHealth();
      break;
    case 'reset': {
      // Bars past the sidecar's backfill limit: reload everything. Features, signals and health are
      // current state: read them again (the bars stream's resume brings missed bars from the store).
      const kinds = (m.data as { kinds?: string[] } | null)?.kinds ?? [];
      if (kinds.includes('bars')) {
        resets++;
        void load();
      } else {
        if (kinds.includes('health')) void refreshHealth();
        void refreshSelected();
      }
      break;
    }
    case 'error':
      streamErrors.push(JSON.stringify(m.data));
      setStreamState(`closed by server: ${JSON.stringify(m.data)}`);
      break;
  }
}

function setStreamState(s: string): void {
  streamState = s;
  const el = $('stream');
  el.textContent = `stream ${s}${lastEventId ? ` · event ${lastEventId}` : ''}`;
  el.className = `pill ${s === 'open' ? 'ok' : 'degraded'}`;
}

async function refreshHealth(): Promise<void> {
  try {
    renderHealth(await getJson<HealthResponse>('/health', [503]));
  } catch {
    // /health answers 503 while down; the next refresh or event tries again
  }
}

function showTokenForm(message: string): void {
  closeStream?.();
  closeSelectedStream?.();
  closeStream = closeSelectedStream = null;
  $('token-message').textContent = message;
  $('token-dialog').hidden = false;
  $<HTMLInputElement>('token-input').focus();
}

async function load(): Promise<void> {
  try {
    // /signals needs the token when API_TOKEN is set (/health never does): ask it first.
    const signals = await getJson<SignalsResponse>('/signals');
    $('token-dialog').hidden = true;
    renderHealth(await getJson<HealthResponse>('/health', [503]));
    for (const s of signals.signals) {
      const r = rowOf(s.symbol);
      r.price = s.price;
      r.quality = s.quality ?? r.quality;
    }
    table.refresh();
    await select(selected ?? rowList[0]?.symbol ?? '');
    closeStream?.();
    closeStream = openStream(['bars', 'health'], [], onStream, (s) => {
      setStreamState(s);
      // A stream closed for good is most often a wrong token: ask the JSON side, which says 401.
      if (s === 'closed')
        void getJson('/signals').catch(
          (e: unknown) => e instanceof UnauthorizedError && showTokenForm('The sidecar refused the token.'),
        );
    });
    window.clearInterval(healthTimer);
    healthTimer = window.setInterval(() => {
      void refreshHealth();
      table.refresh();
    }, HEALTH_REFRESH_MS);
  } catch (err) {
    if (err instanceof UnauthorizedError) {
      showTokenForm(getToken() ? 'The sidecar refused this token.' : 'This sidecar needs its API token.');
    } else {
      $('status').textContent = `error: ${(err as Error).message}`;
      $('status').className = 'pill down';
    }
  }
}

$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  setToken($<HTMLInputElement>('token-input').value.trim() || null);
  void load();
});
$('token-forget').addEventListener('click', () => {
  setToken(null);
  showTokenForm('Token forgotten.');
});

/** For the browser test and for poking at the page from the console. */
declare global {
  interface Window {
    __dashboard: {
      chartBars(): ChartBar[];
      selected(): string | null;
      streamState(): string;
      lastEventId(): number;
      eventsReceived(): number;
      streamErrors(): string[];
      /** Resets that reloaded the page's bars (a gap past the sidecar's backfill limit). */
      resets(): number;
      select(symbol: string): Promise<void>;
    };
  }
}
window.__dashboard = {
  chartBars: () => chart.bars(),
  selected: () => selected,
  streamState: () => streamState,
  lastEventId: () => lastEventId,
  eventsReceived: () => eventsReceived,
  streamErrors: () => [...streamErrors],
  resets: () => resets,
  select,
};

void load();
