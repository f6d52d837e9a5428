const os = require('node:os');

// Unit, property and power-loss suites share one transform: ts-jest without type-checking
// (tsc --noEmit checks types once for the whole tree in CI).
const transform = { '^.+\\.ts$': 'ts-jest' };
const common = { testEnvironment: 'node', transform, moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  // Two test files at once even on 2 cores (jest's default is one fewer than the cores): many
  // files spend much of their time waiting on child processes, sockets and timers, and one
  // worker left the second core idle (test/api/ and test/mobile/, 32 files: 81-99 s on one
  // worker, about 61 s on two, the same CPU time).
  maxWorkers: Math.max(2, os.availableParallelism() - 1),
  // A generous per-test deadline (a global option): waits end on events, and a loaded
  // machine must not fail a test that is merely slow.
  testTimeout: 60_000,
  // Builds the transpiled reader-sim the suite's child processes run (test/cli-command.ts).
  globalSetup: '<rootDir>/test/global-setup.ts',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/**/*.test.ts'] },
    {
      ...common,
      displayName: 'powerloss',
      testMatch: ['<rootDir>/test/**/*.powerloss.ts'],
    },
  ],
};
