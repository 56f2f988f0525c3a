// The sidecar's one event idiom: a typed set of listeners whose `on` returns the unsubscribe function.
type Listener<T> = (value: T) => void;

export interface Emitter<T> {
  /** Adds a listener; returns the function that removes it. */
  on(fn: Listener<T>): () => void;
  emit(value: T): void;
  /** Listeners registered now (emitters skip building a payload nobody reads). */
  readonly size: number;
}

/**
 * The listeners live in an array walked by index (a for-of over a Set took an iterator per emit
 * wherever V8 had not optimised the caller), with a Set's semantics: a function added twice is one
 * listener; one added during an emit is called by it; one removed during an emit before its turn is
 * not (its place is left empty until no emit walks the array); a listener that throws ends the emit
 * (the error goes to the emitter's caller, the listeners after it are not called).
 */
export function createEmitter<T>(): Emitter<T> {
  let fns: (Listener<T> | null)[] = [];
  let size = 0;
  /** Emits walking `fns` now (an emit may run inside a listener). */
  let walking = 0;
  let holes = 0;
  const compact = () => {
    fns = fns.filter((f) => f !== null);
    holes = 0;
  };
  return {
    on(fn: Listener<T>) {
      if (!fns.includes(fn)) {
        fns.push(fn);
        size++;
      }
      return () => {
        const i = fns.indexOf(fn);
        if (i < 0) return;
        fns[i] = null;
        size--;
        holes++;
        if (walking === 0) compact();
      };
    },
    emit(value: T) {
      walking++;
      try {
        const list = fns; // not replaced while walked: added listeners are pushed onto it
        for (let i = 0; i < list.length; i++) {
          const fn = list[i];
          if (fn) fn(value);
        }
      } finally {
        if (--walking === 0 && holes > 0) compact();
      }
    },
    get size() {
      return size;
    },
  };
}

/**
 * Listeners with any arguments, for hot paths that must not build an event object per call (the
 * signal book's handles, the bars lent to the push stream): `list` is walked by index and replaced,
 * not changed, on (un)subscribe, so a walk sees the listeners of its start. A function added twice is
 * one listener.
 */
export interface Listeners<F> {
  on(fn: F): () => void;
  readonly list: readonly F[];
}

export function createListeners<F>(): Listeners<F> {
  let list: readonly F[] = [];
  return {
    on(fn) {
      if (!list.includes(fn)) list = [...list, fn];
      return () => {
        list = list.filter((f) => f !== fn);
      };
    },
    get list() {
      return list;
    },
  };
}
