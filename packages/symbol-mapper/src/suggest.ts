/**
 * Optimal-string-alignment distance: Levenshtein plus adjacent transpositions, so the common typo
 * `EURSUD` is one edit from `EURUSD`.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length;
  const m = b.length;
  if (n === 0) return m;
  if (m === 0) return n;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  // The three rows have m + 1 cells and every index read below is within 0..m: the fallback is never taken.
  const at = (row: number[], j: number): number => row[j] ?? Infinity;
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(prev, j) + 1, at(cur, j - 1) + 1, at(prev, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, at(prev2, j - 2) + 1);
      cur[j] = v;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return at(prev, m);
}

/**
 * Folds the separators and decorations that brokers and providers add (`eur/usd`, `EUR_USD`, `C:EURUSD`,
 * `EURUSD=X`, `BTC-USD`, `^NDX`) so that spellings of one instrument compare equal.
 */
export function normaliseSpelling(value: string): string {
  return value
    .toUpperCase()
    .replace(/^[CXI]:/, '')
    .replace(/=X$/, '')
    .replace(/[^A-Z0-9]/g, '');
}
