// Public entry of @pipeline/pg-store: explicit named re-exports only.
export {};
