// Which live instance should own which symbol: rendezvous (highest-random-weight) hashing. Every
// instance computes the same answer from the same member list, with no coordination beyond it; a
// member joining or leaving moves only the symbols it wins or held (about S/N), and the shares are
// balanced to within the hash's statistical spread (about ±2 sqrt(S/N) at S symbols, N members).
import { createHash } from 'node:crypto';

function weight(symbol: string, member: string): bigint {
  return createHash('sha1').update(symbol).update('\0').update(member).digest().readBigUInt64BE(0);
}

/** The member that should own `symbol` among `members` (null when there are none). */
export function ownerOf(symbol: string, members: readonly string[]): string | null {
  let best: string | null = null;
  let bestWeight = -1n;
  for (const m of members) {
    const w = weight(symbol, m);
    if (w > bestWeight || (w === bestWeight && best !== null && m < best)) {
      best = m;
      bestWeight = w;
    }
  }
  return best;
}

/** The symbols among `symbols` that `me` should own, given the live `members` (me included). */
export function desiredSymbols(symbols: readonly string[], members: readonly string[], me: string): string[] {
  const all = members.includes(me) ? members : [...members, me];
  return symbols.filter((s) => ownerOf(s, all) === me);
}
