// Jest config for the module-wiring half of `npm run mutate` (stryker.wiring.config.mjs): wiring.test.ts, whose tests
// each synthesise their own stack, so Stryker knows which tests cover each mutant of main.ts and runs only those. The
// other synthesis suites synthesise once per file, outside any test, where Stryker cannot attribute coverage.
const base = require("./jest.config.js");

module.exports = {
  ...base,
  testEnvironment: require("path").join(__dirname, "jest.mutant-bail-environment.js"),
  testMatch: ["**/__tests__/wiring.test.ts"],
};
