// A Map for keys asked in the same order again and again: the sidecar's stages look their per-symbol
// state up for every symbol every cycle, in the order of the cycle before, and at 20,000 symbols a
// Map lookup costs 0.2-1 us (its buckets and entries are cache misses). Issue 16: five stages had each
// written this guess out by hand.

/** The key of a free slot and of the start slot: equal to no key a caller can pass. */
const NONE: unique symbol = Symbol('SequentialMap.none');

/**
 * Cells per slot in {@link SequentialMap}'s one array: the key, the value, and the link (the first
 * cell of the slot found after this one last time; 0, the start slot, when none was learned).
 */
const KEY = 0;
const VALUE = 1;
const LINK = 2;
const CELLS = 3;

/**
 * A Map that remembers the order its keys are asked in. {@link get} tries the entry that came right
 * after the entry found last (the last time that one was found), then the entry found last itself,
 * and only then the Map; a get or set that went to the Map links the entry it found after the one
 * found before it. A cycle that asks for its keys in the same order as the cycle before therefore
 * finds every entry with one or two comparisons of keys, without the Map, and without allocating.
 *
 * The results are always those of a plain `Map`: a guess is taken only when its key is the key asked
 * (compared with `===`; other keys, NaN among them, go to the Map), and a deleted entry's key is
 * wiped from its slot, so no link leads to a deleted or replaced value. The guesses are state of the
 * map, not of its entries: the values are not touched, and any value type fits.
 *
 * {@link peek}, {@link has} and iteration leave the guesses alone: use them for reads outside the
 * sequence (an HTTP request for one symbol), so that they do not cost the next cycle a relearned link.
 * Iteration is in insertion order, as a Map's.
 */
export class SequentialMap<K, V> {
  /** Key to the slot's first cell in {@link cells}. */
  private readonly index = new Map<K, number>();
  /**
   * Every slot's key, value and link, {@link CELLS} cells per slot; the start slot (cells 0-2) holds
   * no entry. One array, so that a lookup in a sequence reads one run of memory rather than three
   * (keys, values and links in arrays of their own measured slower beside the sidecar's other state).
   */
  private readonly cells: unknown[] = [NONE, undefined, 0];
  /** Slots of deleted entries, taken again by new keys. */
  private readonly free: number[] = [];
  /** The slot found last (0: none, or deleted since). */
  private last = 0;

  constructor(entries?: Iterable<readonly [K, V]> | null) {
    if (entries != null) for (const [k, v] of entries) this.set(k, v);
  }

  /** Entries held. */
  get size(): number {
    return this.index.size;
  }

  /**
   * The value of `key`, or undefined. Tries the entry that followed the one found last, then the one
   * found last, before the Map; the entry found becomes the one found last.
   */
  get(key: K): V | undefined {
    // Small on purpose, so that V8 inlines it into its callers: the Map's path is lookUp. The
    // successor first: a failed comparison of two different strings of one length reads both.
    const c = this.cells;
    const last = this.last;
    const next = c[last + LINK] as number;
    if (c[next + KEY] === key) {
      this.last = next;
      return c[next + VALUE] as V;
    }
    if (c[last + KEY] === key) return c[last + VALUE] as V;
    return this.lookUp(key);
  }

  /** The value of `key`, or undefined, from the Map alone: the guesses are neither used nor changed. */
  peek(key: K): V | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : (this.cells[i + VALUE] as V);
  }

  has(key: K): boolean {
    return this.index.has(key);
  }

  /**
   * Sets the value of `key` (a new key goes last in insertion order; a held key keeps its place and
   * its links, which now lead to the new value). Counts as a find: the entry follows the one found
   * before it, and is the one found last.
   */
  set(key: K, value: V): this {
    let i = this.index.get(key);
    if (i === undefined) {
      i = this.free.pop() ?? this.grow();
      this.index.set(key, i);
      this.cells[i + KEY] = key;
    }
    this.cells[i + VALUE] = value;
    this.found(i);
    return this;
  }

  /** Deletes `key`'s entry; no guess returns its value afterwards. Returns whether it was held. */
  delete(key: K): boolean {
    const i = this.index.get(key);
    if (i === undefined) return false;
    this.index.delete(key);
    // Links into this slot stay, but lead nowhere: its key is NONE until a new key takes the slot,
    // and then they lead to that key's own entry (a guess is only taken when its key is the one asked).
    this.cells[i + KEY] = NONE;
    this.cells[i + VALUE] = undefined;
    this.cells[i + LINK] = 0;
    this.free.push(i);
    if (this.last === i) this.last = 0;
    return true;
  }

  clear(): void {
    this.index.clear();
    this.cells.length = CELLS;
    this.cells[LINK] = 0;
    this.free.length = 0;
    this.last = 0;
  }

  /** Keys in insertion order. */
  keys(): IterableIterator<K> {
    return this.index.keys();
  }

  /** Values in insertion order. */
  *values(): IterableIterator<V> {
    for (const i of this.index.values()) yield this.cells[i + VALUE] as V;
  }

  /** Entries in insertion order. */
  *entries(): IterableIterator<[K, V]> {
    for (const [k, i] of this.index) yield [k, this.cells[i + VALUE] as V];
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /** {@link get}'s path when neither guess is the key: the Map, and a link learned on a hit. */
  private lookUp(key: K): V | undefined {
    const i = this.index.get(key);
    if (i === undefined) return undefined;
    this.found(i);
    return this.cells[i + VALUE] as V;
  }

  /** Slot `i` was found through the Map (or set): it follows the slot found before it, and is found last. */
  private found(i: number): void {
    this.cells[this.last + LINK] = i;
    this.last = i;
  }

  /** A new slot at the end. */
  private grow(): number {
    const i = this.cells.length;
    this.cells.push(NONE, undefined, 0);
    return i;
  }
}
