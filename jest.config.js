/** Jest runs the TypeScript sources as native ES modules, transformed by SWC (types stripped, nothing checked). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2024' }, module: { type: 'es6' } }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // dist/ exists only while `npm pack` runs; the tests are on the sources.
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  testTimeout: 180_000,
  // Every suite imports the Pulumi SDK and the AWS client again in a VM context of its own, and Node keeps part of
  // each one: one process running all suites grew to the machine's whole memory. `npm test` runs the suites one at a
  // time in one worker (--maxWorkers=1), which Jest replaces once it holds more than this after a suite.
  workerIdleMemoryLimit: '512MB',
  verbose: true,
};
