import { type Disposable } from '@pipeline/core';

/**
 * Returned by every `onX` subscription; `dispose()` unsubscribes and is safe to call twice. The store's
 * events use core's `Emitter`: listeners run synchronously, and one that throws affects neither the
 * store nor the other listeners (the first such error is reported as a process warning with code
 * `PIPELINE_LISTENER_ERROR`; the store itself never logs).
 */
export type StoreSubscription = Disposable;
