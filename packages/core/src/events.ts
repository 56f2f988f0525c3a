/**
 * The one event idiom of the @pipeline packages (after cockatiel's `Event`): a small typed emitter
 * whose subscriptions return core's {@link Disposable}. Listeners run synchronously, in subscription
 * order, and are isolated: a listener that throws neither stops the others nor the component that
 * emits (a breaker's bookkeeping, a validation run). Its error is REPORTED, never swallowed silently:
 * to the `onListenerError` handler the owner passes, or by default as one process warning per emitter
 * (code `PIPELINE_LISTENER_ERROR`; libraries do not log) while {@link Emitter.listenerErrors} counts
 * every occurrence.
 */
import { type Disposable } from './disposable';

/** A listener of events of type `T`. */
export type Listener<T> = (event: T) => void;

/** The subscription half of an emitter, what a component exposes as its `onX` method. */
export type Subscribe<T> = (listener: Listener<T>) => Disposable;

/** Receives what a throwing listener threw, with the event it was handling. */
export type ListenerErrorHandler = (error: unknown, event: unknown) => void;

/** Warning code of the default listener-error report (`process.on('warning', ...)` sees it). */
export const LISTENER_ERROR_WARNING = 'PIPELINE_LISTENER_ERROR';

function warnOnce(name: string, error: unknown): void {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const proc = (globalThis as { process?: { emitWarning?: (w: string, o: object) => void } }).process;
  proc?.emitWarning?.(
    `a listener of ${name} threw (further errors of this emitter are only counted): ${text}`,
    {
      type: 'PipelineWarning',
      code: LISTENER_ERROR_WARNING,
    },
  );
}

/** A typed synchronous event emitter; see the module comment for the rules. */
export class Emitter<T> {
  private readonly listeners = new Set<Listener<T>>();
  private errors = 0;

  /**
   * @param name what emits, for the default report (e.g. `breaker onStateChange`).
   * @param onListenerError where listener errors go; default: one process warning per emitter.
   */
  constructor(
    private readonly name = 'an event',
    private readonly onListenerError?: ListenerErrorHandler,
  ) {}

  /**
   * Subscribes `listener`; `dispose()` of the result unsubscribes it (twice is harmless). The same
   * function may subscribe twice and is then called twice, each subscription disposed on its own.
   */
  readonly on: Subscribe<T> = (listener) => {
    const entry: Listener<T> = (event) => listener(event);
    this.listeners.add(entry);
    return { dispose: () => void this.listeners.delete(entry) };
  };

  /** Calls every listener with `event`; listeners added or removed during the call take effect next time. */
  emit(event: T): void {
    if (this.listeners.size === 0) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.errors++;
        if (this.onListenerError) {
          try {
            this.onListenerError(error, event);
          } catch {
            // The error handler itself failed: counted above, nothing else can be done safely.
          }
        } else if (this.errors === 1) {
          warnOnce(this.name, error);
        }
      }
    }
  }

  /** Subscribed listeners. */
  get size(): number {
    return this.listeners.size;
  }

  /** How many times a listener threw. */
  get listenerErrors(): number {
    return this.errors;
  }

  /** Removes every listener (on the owner's close()). */
  clear(): void {
    this.listeners.clear();
  }
}
