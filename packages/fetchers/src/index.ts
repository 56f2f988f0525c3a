// Public entry of @pipeline/fetchers: explicit named re-exports only.
export {};
