// The reliability suite (`pnpm test:reliability`): real child processes, a private killable
// redis-server, provider-format HTTP servers and the soak. Run in band (see package.json) so the
// soak's event-loop and memory numbers are not disturbed by parallel test files.
module.exports = require('../../jest.preset.cjs')(__dirname, {
  testMatch: ['<rootDir>/reliability/**/*.rel.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  // Child processes start through tsx (a few seconds each); the soak sets its own, longer timeout.
  testTimeout: 120_000,
});
