import { createEmitter, createListeners } from './events';

describe('createEmitter', () => {
  it('calls the listeners in subscription order; a function added twice is one listener; off is idempotent', () => {
    const e = createEmitter<number>();
    const seen: string[] = [];
    const a = (v: number) => seen.push(`a${v}`);
    const b = (v: number) => seen.push(`b${v}`);
    const offA = e.on(a);
    const offA2 = e.on(a);
    e.on(b);
    expect(e.size).toBe(2);
    e.emit(1);
    offA();
    offA2();
    expect(e.size).toBe(1);
    e.emit(2);
    // Re-added after removal: at the end.
    e.on(a);
    e.emit(3);
    expect(seen).toEqual(['a1', 'b1', 'b2', 'b3', 'a3']);
  });

  it("as Node's EventEmitter: a listener added during an emit is called from the next one, one removed before its turn is still called by this one", () => {
    const e = createEmitter<number>();
    const seen: string[] = [];
    const late = (v: number) => seen.push(`late${v}`);
    const c = (v: number) => seen.push(`c${v}`);
    let offC: () => void = () => {};
    e.on((v) => {
      seen.push(`a${v}`);
      if (v === 1) {
        offC();
        e.on(late);
      }
    });
    e.on((v) => seen.push(`b${v}`));
    offC = e.on(c);
    e.emit(1);
    expect(e.size).toBe(3);
    e.emit(2);
    expect(seen).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'late2']);
  });

  it('a listener removed and added again during an emit: called in its old place by this emit, at the end from the next', () => {
    const e = createEmitter<number>();
    const seen: string[] = [];
    const b = (v: number) => seen.push(`b${v}`);
    let offB: () => void = () => {};
    e.on((v) => {
      seen.push(`a${v}`);
      if (v === 1) {
        offB();
        offB = e.on(b);
      }
    });
    offB = e.on(b);
    e.on((v) => seen.push(`c${v}`));
    // This emit walks the list of its start; the re-add put b at the end for the next one.
    e.emit(1);
    e.emit(2);
    expect(seen).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'b2']);
    expect(e.size).toBe(3);
  });

  it('a listener removing itself or one already called during an emit; an emit inside an emit', () => {
    const e = createEmitter<number>();
    const seen: string[] = [];
    let offA: () => void = () => {};
    let offB: () => void = () => {};
    offA = e.on((v) => {
      seen.push(`a${v}`);
      if (v === 1) e.emit(10); // nested: walks the same listeners
    });
    offB = e.on((v) => {
      seen.push(`b${v}`);
      if (v === 10) {
        offB();
        offA();
      }
    });
    e.on((v) => seen.push(`c${v}`));
    e.emit(1);
    e.emit(2);
    // The outer emit goes on with the list of its start: b1 although b was removed by the nested one.
    expect(seen).toEqual(['a1', 'a10', 'b10', 'c10', 'b1', 'c1', 'c2']);
    expect(e.size).toBe(1);
  });

  it('a throwing listener ends the emit: the error reaches the caller, the later listeners are not called, the next emit works', () => {
    const e = createEmitter<number>();
    const seen: string[] = [];
    let offBoom: () => void = () => {};
    e.on((v) => seen.push(`a${v}`));
    offBoom = e.on((v) => {
      // Removing itself in the emit that throws: gone from the next emit.
      offBoom();
      throw new Error(`boom ${v}`);
    });
    e.on((v) => seen.push(`c${v}`));
    expect(() => e.emit(1)).toThrow('boom 1');
    e.emit(2);
    expect(seen).toEqual(['a1', 'a2', 'c2']);
    expect(e.size).toBe(2);
  });
});

describe('createListeners', () => {
  it('keeps a function added twice once, removes it, and lets a walk see the listeners of its start', () => {
    const ls = createListeners<(a: number, b: string) => void>();
    const seen: string[] = [];
    const a = (n: number, s: string) => seen.push(`a${n}${s}`);
    const offA = ls.on(a);
    ls.on(a);
    let offB = () => {};
    ls.on((n, s) => {
      seen.push(`c${n}${s}`);
      offB = ls.on((m) => seen.push(`b${m}`)); // added during a walk: not in this walk's list
    });
    const walk = (n: number) => {
      const list = ls.list;
      for (const fn of list) fn(n, 'x');
    };
    walk(1);
    expect(seen).toEqual(['a1x', 'c1x']);
    expect(ls.list).toHaveLength(3);
    offA();
    offB();
    seen.length = 0;
    walk(2);
    expect(seen.filter((s) => s.startsWith('a') || s.startsWith('c'))).toEqual(['c2x']);
    expect(ls.list.includes(a)).toBe(false);
  });
});
