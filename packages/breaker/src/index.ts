// Public entry of @pipeline/breaker: explicit named re-exports only.
export {};
