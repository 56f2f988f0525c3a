/** Returned by every `onX` subscription; `dispose()` unsubscribes (calling it twice is harmless). */
export interface Disposable {
  dispose(): void;
}

/**
 * A minimal typed event: listeners run synchronously in subscription order. A throwing listener
 * does not stop the others nor the cache: its error goes to `onListenerError`.
 */
export class EventSource<T> {
  private readonly listeners = new Set<(value: T) => void>();

  constructor(private readonly onListenerError: (err: unknown) => void) {}

  subscribe = (listener: (value: T) => void): Disposable => {
    // Wrap so the same function may subscribe twice and be disposed independently.
    const entry = (value: T) => listener(value);
    this.listeners.add(entry);
    return { dispose: () => void this.listeners.delete(entry) };
  };

  get size(): number {
    return this.listeners.size;
  }

  emit(value: T): void {
    for (const l of this.listeners) {
      try {
        l(value);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
