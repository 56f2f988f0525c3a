// Shared jest configuration. Tests import workspace packages from their TypeScript sources,
// so nothing has to be built first.
const path = require('node:path');

const root = __dirname;

let esmCache;
/** Store folder names (`got`, `@sindresorhus+is`) of installed packages that have no CommonJS entry. */
function esmOnlyPackages() {
  if (esmCache) return esmCache;
  const fs = require('node:fs');
  const store = path.join(root, 'node_modules', '.pnpm');
  const names = new Set();
  for (const entry of fs.existsSync(store) ? fs.readdirSync(store) : []) {
    const at = entry.indexOf('@', 1);
    if (at < 0) continue;
    const folder = entry.slice(0, at);
    const pkgDir = path.join(store, entry, 'node_modules', folder.replace('+', '/'));
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
      const hasRequire = JSON.stringify(pkg.exports ?? {}).includes('"require"');
      if (pkg.type === 'module' && !hasRequire) names.add(folder.replace(/[.+]/g, (c) => '\\' + c));
    } catch {
      // not a package folder
    }
  }
  esmCache = [...names];
  return esmCache;
}

/** @param {string} dir package directory @param {object} [overrides] */
module.exports = function jestConfig(dir, overrides = {}) {
  return {
    rootDir: dir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
    testPathIgnorePatterns: ['/node_modules/', '/dist/', '\\.rel\\.test\\.ts$'],
    moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
    transform: {
      '^.+\\.(t|j|mj|cj)s$': [
        require.resolve('@swc/jest'),
        {
          jsc: { target: 'es2022', parser: { syntax: 'typescript' }, keepClassNames: true },
          module: { type: 'commonjs' },
          sourceMaps: 'inline',
        },
      ],
    },
    // got and several of its dependencies ship only ESM, which jest's CommonJS runtime cannot
    // require: let swc turn exactly those packages into CommonJS.
    transformIgnorePatterns: [`/node_modules/\\.pnpm/(?!(${esmOnlyPackages().join('|')})@)`],
    moduleNameMapper: {
      '^@pipeline/([^/]+)$': path.join(root, 'packages/$1/src/index.ts'),
      '^@pipeline/([^/]+)/(.+)$': path.join(root, 'packages/$1/src/$2.ts'),
    },
    testTimeout: 20000,
    ...overrides,
  };
};
