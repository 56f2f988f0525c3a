// The sidecar's one event idiom: a typed set of listeners whose `on` returns the unsubscribe function.
type Listener<T> = (value: T) => void;

export interface Emitter<T> {
  /** Adds a listener; returns the function that removes it. */
  on(fn: Listener<T>): () => void;
  emit(value: T): void;
  /** Listeners registered now (emitters skip building a payload nobody reads). */
  readonly size: number;
}

export function createEmitter<T>(): Emitter<T> {
  const fns = new Set<Listener<T>>();
  return {
    on(fn: Listener<T>) {
      fns.add(fn);
      return () => void fns.delete(fn);
    },
    emit(value: T) {
      for (const fn of fns) fn(value);
    },
    get size() {
      return fns.size;
    },
  };
}
