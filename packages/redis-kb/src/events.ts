// The caches' events use core's Emitter (one event idiom across the @pipeline packages); every `onX`
// returns core's Disposable.
export { type Disposable } from '@pipeline/core';
