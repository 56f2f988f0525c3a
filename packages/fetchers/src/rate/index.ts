export {
  createRateBudget,
  DEFAULT_RATE_LIMITS,
  RATE_BUDGET_DEFAULTS,
  type RateBudget,
  type RateBudgetOptions,
  type RateLimits,
} from './rate-budget';
