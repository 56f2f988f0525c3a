// Public entry of @pipeline/symbol-mapper: explicit named re-exports only.
export {};
