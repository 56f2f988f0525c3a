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
 * Built on {@link createListeners}, with Node's EventEmitter semantics: an emit calls the listeners
 * present when it started, in subscription order (one added during the emit is called from the next
 * emit on; one removed during the emit is still called by it if its turn had not come); a function
 * added twice is one listener; a listener that throws ends the emit (the error goes to the emitter's
 * caller, the listeners after it are not called). No allocation per emit.
 */
export function createEmitter<T>(): Emitter<T> {
  const listeners = createListeners<Listener<T>>();
  return {
    on: listeners.on,
    emit(value: T) {
      const list = listeners.list;
      for (let i = 0; i < list.length; i++) (list[i] as Listener<T>)(value);
    },
    get size() {
      return listeners.list.length;
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
