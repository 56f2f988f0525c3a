// The reliability suite (`pnpm test:reliability`): real child processes, a private killable
// redis-server, provider-format HTTP servers and the soak, in apps/sidecar/reliability/. Run in band
// (see package.json) so the soak's event-loop and memory numbers are not disturbed by parallel
// test files. `src/**/*.rel.test.ts` is matched too so that fault-injection tests kept beside the
// code (e.g. src/redis-outage.rel.test.ts) run here and not in the fast suite.
module.exports = require('../../jest.preset.cjs')(__dirname, {
  testMatch: ['<rootDir>/reliability/**/*.rel.test.ts', '<rootDir>/src/**/*.rel.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  // Child processes start through tsx (a few seconds each); the soak sets its own, longer timeout.
  testTimeout: 120_000,
});
