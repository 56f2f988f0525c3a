// Public entry of @pipeline/sqlite-store: explicit named re-exports only.
export {};
