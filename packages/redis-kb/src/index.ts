// Public entry of @pipeline/redis-kb: explicit named re-exports only.
export {};
