/**
 * A fixed-size ring of the most recent attempts of one source: enough for a success rate and
 * latency percentiles without unbounded memory. Percentiles use the nearest-rank method.
 */
export class AttemptWindow {
  private readonly ok: Uint8Array;
  private readonly latency: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(readonly size: number) {
    this.ok = new Uint8Array(size);
    this.latency = new Float64Array(size);
  }

  record(success: boolean, latencyMs: number): void {
    this.ok[this.next] = success ? 1 : 0;
    this.latency[this.next] = latencyMs;
    this.next = (this.next + 1) % this.size;
    if (this.filled < this.size) this.filled++;
  }

  get count(): number {
    return this.filled;
  }

  /** Share of successful attempts in the window, or null when empty. */
  successRate(): number | null {
    if (this.filled === 0) return null;
    let ok = 0;
    for (const v of this.ok.subarray(0, this.filled)) ok += v;
    return ok / this.filled;
  }

  /** Nearest-rank percentiles of attempt latency in ms, or nulls when empty. */
  percentiles(): { p50: number | null; p90: number | null; p99: number | null } {
    if (this.filled === 0) return { p50: null, p90: null, p99: null };
    const sorted = Array.from(this.latency.subarray(0, this.filled)).sort((a, b) => a - b);
    // The rank is within 0..length-1 of a non-empty array, so the `?? null` never applies.
    const rank = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
    return { p50: rank(50), p90: rank(90), p99: rank(99) };
  }
}
