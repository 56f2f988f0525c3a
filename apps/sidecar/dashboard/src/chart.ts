// The candlestick chart of the selected symbol: candles, volume on its own scale at the bottom, and
// EMA overlays. Built on TradingView's lightweight-charts (canvas rendering). The EMA history is computed here from the loaded bars with the sidecar's convention
// (seeded with the SMA of the first `period` closes); the newest point is the sidecar's own value from
// /features or the stream, so the line ends on what the scanner used.
import {
  CandlestickSeries,
  ColorType,
  HistogramSeries,
  LineSeries,
  createChart,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
} from 'lightweight-charts';

export interface ChartBar {
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

const EMA_COLORS = ['#f2b134', '#5aa9e6', '#c77dff'];
const time = (ts: number) => Math.floor(ts / 1000) as UTCTimestamp;

export interface PriceChart {
  /** Replaces every bar (a symbol was selected, or the stream said reset). */
  setBars(bars: ChartBar[]): void;
  /** A new bar, the forming bar replaced (same ts), or an older bar replaced or inserted. */
  upsert(bar: ChartBar): void;
  /** The sidecar's latest indicator values, e.g. `{ ema12: 1.08, ema26: 1.07 }`. */
  setFeatures(values: Record<string, number | null>, dataTs: number | null): void;
  /** The bars the chart shows, oldest first (read by the browser test). */
  bars(): ChartBar[];
}

function emaSeries(bars: ChartBar[], period: number): { time: UTCTimestamp; value: number }[] {
  const out: { time: UTCTimestamp; value: number }[] = [];
  if (bars.length < period) return out;
  const k = 2 / (period + 1);
  let ema = bars.slice(0, period).reduce((s, b) => s + b.close, 0) / period;
  bars.forEach((b, i) => {
    if (i < period - 1) return;
    if (i >= period) ema = b.close * k + ema * (1 - k);
    out.push({ time: time(b.ts), value: ema });
  });
  return out;
}

export function createPriceChart(host: HTMLElement): PriceChart {
  const chart: IChartApi = createChart(host, {
    autoSize: true,
    layout: { background: { type: ColorType.Solid, color: '#10151c' }, textColor: '#c9d1d9' },
    grid: { vertLines: { color: '#1c2430' }, horzLines: { color: '#1c2430' } },
    timeScale: { timeVisible: true, secondsVisible: false },
  });
  const candles = chart.addSeries(CandlestickSeries, {
    upColor: '#26a69a',
    downColor: '#ef5350',
    wickUpColor: '#26a69a',
    wickDownColor: '#ef5350',
    borderVisible: false,
  });
  const volume = chart.addSeries(HistogramSeries, {
    priceScaleId: 'volume',
    priceFormat: { type: 'volume' },
  });
  chart.priceScale('volume').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  candles.priceScale().applyOptions({ scaleMargins: { top: 0.05, bottom: 0.25 } });
  const emas = new Map<number, ISeriesApi<'Line'>>();
  let data: ChartBar[] = [];

  const vol = (b: ChartBar) => ({
    time: time(b.ts),
    value: b.volume,
    color: b.close >= b.open ? 'rgba(38,166,154,0.5)' : 'rgba(239,83,80,0.5)',
  });
  const candle = (b: ChartBar) => ({
    time: time(b.ts),
    open: b.open,
    high: b.high,
    low: b.low,
    close: b.close,
  });
  const emaLine = (period: number) => {
    let s = emas.get(period);
    if (!s) {
      s = chart.addSeries(LineSeries, {
        color: EMA_COLORS[emas.size % EMA_COLORS.length],
        lineWidth: 2,
        title: `EMA ${period}`,
        priceLineVisible: false,
        lastValueVisible: false,
      });
      emas.set(period, s);
    }
    return s;
  };
  const redrawEmas = () => {
    for (const [period, s] of emas) s.setData(emaSeries(data, period));
  };

  return {
    setBars(bars) {
      data = [...bars].sort((a, b) => a.ts - b.ts);
      candles.setData(data.map(candle));
      volume.setData(data.map(vol));
      redrawEmas();
      chart.timeScale().fitContent();
    },
    upsert(bar) {
      const last = data[data.length - 1];
      if (last && bar.ts < last.ts) {
        // An older bar: a finished one the sidecar backfills from its store after a reconnect
        // replaces the forming version the chart kept, or fills a minute it never saw.
        const i = data.findIndex((b) => b.ts >= bar.ts);
        if (data[i]?.ts === bar.ts) data[i] = bar;
        else data.splice(i, 0, bar);
        candles.setData(data.map(candle));
        volume.setData(data.map(vol));
      } else {
        if (last && bar.ts === last.ts) data[data.length - 1] = bar;
        else data.push(bar);
        candles.update(candle(bar));
        volume.update(vol(bar));
      }
      // Recomputing 500 points is cheaper than tracking the EMA state across forming-bar replacements.
      redrawEmas();
    },
    setFeatures(values, dataTs) {
      for (const [key, value] of Object.entries(values)) {
        const m = /^ema(\d+)$/.exec(key);
        if (!m) continue;
        const s = emaLine(Number(m[1]));
        if (s.data().length === 0) s.setData(emaSeries(data, Number(m[1])));
        const last = s.data()[s.data().length - 1];
        if (value !== null && dataTs !== null && (!last || time(dataTs) >= (last.time as number))) {
          s.update({ time: time(dataTs), value });
        }
      }
    },
    bars: () => data.map((b) => ({ ...b })),
  };
}
