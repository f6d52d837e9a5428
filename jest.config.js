// Unit, property and power-loss suites share one transform: ts-jest without type-checking
// (tsc --noEmit checks types once for the whole tree in CI).
const transform = { '^.+\\.ts$': 'ts-jest' };
const common = { testEnvironment: 'node', transform, moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/**/*.test.ts'] },
    {
      ...common,
      displayName: 'powerloss',
      testMatch: ['<rootDir>/test/**/*.powerloss.ts'],
    },
  ],
};
