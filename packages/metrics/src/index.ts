// Public entry of @pipeline/metrics: explicit named re-exports only.
export {};
