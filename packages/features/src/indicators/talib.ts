/**
 * TA-Lib's zero threshold (`TA_EPSILON` in ta_utility.h of TA-Lib 0.6): `TA_IS_ZERO(v)` is
 * `-1e-14 < v < 1e-14` and `TA_IS_ZERO_OR_NEG(v)` is `v < 1e-14`. Using the same constant is what
 * makes flat windows produce the same 0 as TA-Lib.
 */
export const TA_EPSILON = 1e-14;
