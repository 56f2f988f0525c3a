// Public entry of @pipeline/validator: explicit named re-exports only.
export {};
