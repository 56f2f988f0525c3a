/** Returned by every `onX` subscription; `dispose()` unsubscribes and is safe to call twice. */
export interface StoreSubscription {
  dispose(): void;
}

/**
 * A minimal synchronous event list. A throwing listener must not break the store's flush path, so a
 * listener's error is caught and dropped here: the store has nowhere to report it (its own `onError`
 * listeners may be the ones throwing) and it never logs on its own.
 */
export class Emitter<T> {
  private readonly listeners = new Set<(event: T) => void>();

  on(listener: (event: T) => void): StoreSubscription {
    const wrapped = (event: T): void => listener(event);
    this.listeners.add(wrapped);
    return { dispose: () => void this.listeners.delete(wrapped) };
  }

  emit(event: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A listener's own failure is its business; the store keeps running.
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }

  clear(): void {
    this.listeners.clear();
  }
}
