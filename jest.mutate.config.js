// Jest config for `npm run mutate` (Stryker). It runs only the tests of the mutated modules (config, autoscaler
// decisions, drainability, drain, node-drainer events, selectors): Stryker reruns covering tests once per mutant, and the
// stack-synthesis, terraform-validate, terraform-plan, sandbox and bundle suites take 5-60 s per file while covering none
// of them except through config/resolve, whose own tests are config.test.ts.
const base = require("./jest.config.js");

module.exports = {
  ...base,
  testPathIgnorePatterns: [
    "/node_modules/",
    // terraform validate and plan, a k3s sandbox, esbuild bundles: slow and not about the mutated modules.
    "/__tests__/(validate|plan|bootstrap-sandbox|bundle)\\.test\\.ts$",
    // Whole-stack synthesis tests of modules/* (and of the synth policy); they reach config/resolve only as a fixture.
    "/__tests__/(compute|templates|networking|database-storage|load-balancing|backend|determinism|names|automation|policy)\\.test\\.ts$",
  ],
};
