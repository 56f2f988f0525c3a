// The dashboard's browser test: a real sidecar, Debian's chromium driven by playwright-core.
// Separate from `pnpm test` because it needs /usr/bin/chromium and the built dashboard
// (`pnpm test:browser` builds it first).
const path = require('node:path');

module.exports = require('../../../jest.preset.cjs')(path.join(__dirname, '..'), {
  testMatch: ['<rootDir>/browser/**/*.browser.test.ts'],
  testTimeout: 60_000,
  // playwright's own waits stay below the test's timeout so a failure names the wait that failed.
});
