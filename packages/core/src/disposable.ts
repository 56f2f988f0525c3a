/** Returned by every `onX` subscription in the @pipeline packages: `dispose()` unsubscribes; calling it twice is harmless. */
export interface Disposable {
  dispose(): void;
}
