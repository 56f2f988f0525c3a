/** What the high-low-close indicators read; a core `Bar` satisfies it. */
export interface HLC {
  high: number;
  low: number;
  close: number;
}

/** What OBV reads; a core `Bar` satisfies it. */
export interface CloseVolume {
  close: number;
  volume: number;
}

/** What VWAP reads; a core `Bar` satisfies it. `ts` is epoch milliseconds. */
export interface VWAPInput {
  ts: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}
