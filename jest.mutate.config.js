// Jest config for `npm run mutate` (Stryker, README "Mutation testing"). Stryker reruns, once per mutant, the tests
// that cover it in every test file related to the mutated file, and loads each such file whole: a file that
// synthesises the stack (5-10 s), starts DynamoDB-local, or imports @kubernetes/client-node (about 0.5 s) costs that
// per mutant. So this config keeps the unit suites of the mutated modules and leaves out the rest, which `npx jest`
// still runs.
const base = require("./jest.config.js");

module.exports = {
  ...base,
  testEnvironment: require("path").join(__dirname, "jest.mutant-bail-environment.js"),
  // These suites use no cdktf matcher, and loading cdktf for them (__tests__/setup.ts) took 0.6 s a test file per
  // mutant; the token-trace setting stays for the config schema, which imports cdktf.
  setupFilesAfterEnv: ["<rootDir>/__tests__/support/plain-token-traces.ts"],
  // Every directory of mutated code is a root, so a test reaching a mutated file through another directory
  // (node-drainer.test.ts -> drainer.ts -> shared/drain.ts) is found as related.
  roots: ["<rootDir>/__tests__", "<rootDir>/config", "<rootDir>/lambdas"],
  testPathIgnorePatterns: [
    "/node_modules/",
    // terraform validate and plan, a k3s sandbox, esbuild bundles, the README's commands, the kubeconfig script's
    // loopback Secrets Manager.
    "/__tests__/(validate|plan|bootstrap-sandbox|bundle|readme-commands|kubeconfig)\\.test\\.ts$",
    // Whole-stack synthesis: the modules/* suites, and the config defaults, shared ports, drain timing, drain rules,
    // edge, block storage, cluster policy, backups, alarms and add-ons read through the synthesised JSON (config.test.ts,
    // config-day-two.test.ts, backend-file.test.ts and function-settings.test.ts test the same modules directly).
    "/__tests__/(compute|templates|networking|database-storage|load-balancing|backend|determinism|names|automation|policy|wiring)\\.test\\.ts$",
    "/__tests__/(defaults|shared-ports|node-drainer-timing|node-drainer-rules|edge|block-storage|cluster-policy|backups|alarms|addons|dashboards)\\.test\\.ts$",
    // The autoscaler's run loop, its AWS, DynamoDB and Kubernetes adapters, and the simulations (an hour per scenario, a day
    // per trace; up to 1 s a test): the decision modules they call have their own unit suites (decide, scheduling,
    // drainability, recovery, selectors).
    "/__tests__/(autoscaler-run|autoscaler-scenarios|simulator|cluster-adapters|aws-adapters|lock)\\.test\\.ts$",
    // The Slack forwarder's synthesis, and its webhook call and secret read against loopback HTTPS and Secrets Manager
    // (an openssl certificate per file, the AWS SDK): its formatting and forwarding have their own unit suite.
    "/__tests__/slack-forwarder-(synth|io)\\.test\\.ts$",
  ],
};
