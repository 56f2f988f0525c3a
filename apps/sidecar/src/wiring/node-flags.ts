// The V8 flags the sidecar is started with (issue 16). At thousands of symbols every symbol keeps about
// half a kilobyte per cycle (its newest bar, feature values, signal) until the next cycle replaces it.
// With V8's defaults that state outgrows a 16 MB semi-space several times per cycle, and V8's
// allocation-site pretenuring then places whole allocation sites (fetched bars, feature records) in
// old space, garbage included, which a mark-compact must later clear. A 128 MB semi-space holds a
// cycle's young objects until the idle collection between cycles, and without pretenuring they die
// young. Measured: bench/profile.ts and bench/sidecar.bench.ts run with these flags too, and the
// sidecar README shows the figures with and without them.
//
// In the real 1 Hz loop a few hundred symbols allocate slowly enough for V8's memory reducer to shrink
// the young generation to about 1 MB, and then young collections land inside cycles (bench/sidecar.bench.ts
// BENCH_ONLY=live, 400 symbols: 6 per 75 s, up to 8.3 ms; 22-25 per 240 s); a 16 MB floor
// (--min-semi-space-size=16) leaves the collection to the idle time between cycles: none inside a cycle
// in 9 runs (apps/sidecar/docs/performance-history.md, fifth round of the HTTP p99).
//
// None of the flags can be set after start (the semi-space is sized when the heap is made, and
// --no-allocation-site-pretenuring is refused in NODE_OPTIONS), so every launcher carries them:
// package.json `start`, deploy/sidecar.Dockerfile, deploy/pipeline-sidecar.service and
// ecosystem.config.cjs (test: node-flags.test.ts). main.ts logs which are missing.

/** The flags every launcher passes to node, in this order. */
export const SIDECAR_NODE_FLAGS = [
  '--max-semi-space-size=128',
  '--min-semi-space-size=16',
  '--no-allocation-site-pretenuring',
] as const;

/** The sidecar's flags missing from `execArgv` (the node options the process was started with). */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  const given = new Set(execArgv);
  return SIDECAR_NODE_FLAGS.filter((flag) => !given.has(flag));
}
