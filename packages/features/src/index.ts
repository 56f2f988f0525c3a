// Public entry of @pipeline/features: explicit named re-exports only.
export {};
