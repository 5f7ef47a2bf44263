// @ts-check
// `npm run mutate`: mutation testing of the config, decision, event-parsing and drain modules (README, "Mutation
// testing"). Kept out of `npm test` because it takes minutes.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  packageManager: "npm",
  testRunner: "jest",
  // A jest config of the mutated modules' unit suites: each mutant reruns the tests that cover it, in the test files
  // related to its file.
  jest: { configFile: "jest.mutate.config.js", enableFindRelatedTests: true },
  coverageAnalysis: "perTest",
  // The target machine has 2 cores.
  concurrency: 2,
  mutate: [
    "config/resolve.ts",
    "config/schema.ts",
    "config/backend.ts",
    "config/rds-max-connections.ts",
    "lambdas/autoscaler/decide.ts",
    "lambdas/autoscaler/headroom.ts",
    "lambdas/autoscaler/pending.ts",
    "lambdas/autoscaler/scheduling.ts",
    "lambdas/autoscaler/node-template.ts",
    "lambdas/autoscaler/recovery.ts",
    "lambdas/autoscaler/settings.ts",
    "lambdas/autoscaler/drainability/*.ts",
    "lambdas/node-drainer/events.ts",
    "lambdas/node-drainer/drainer.ts",
    "lambdas/node-drainer/settings.ts",
    "lambdas/slack-forwarder/format.ts",
    "lambdas/slack-forwarder/forward.ts",
    "lambdas/slack-forwarder/settings.ts",
    "lambdas/shared/drain.ts",
    "lambdas/shared/selectors.ts",
    "lambdas/shared/pod-requests.ts",
    "lambdas/shared/quantity.ts",
  ],
  // Build output and reports need not be copied into the sandbox.
  ignorePatterns: ["reports", "cdktf.out", ".validate", ".build", ".terraform", "coverage", ".stryker-tmp"],
  // Mutants in module-level code (zod schemas, constant tables) would each need the whole suite rerun; they are
  // skipped, and the schema's defaults are pinned by config.test.ts instead.
  ignoreStatic: true,
  // Added to 1.5 x the covering tests' own time and the run's overhead (several seconds); a mutant that loops
  // forever is stopped by it and counts as killed.
  timeoutMS: 5000,
  reporters: ["clear-text", "html", "json", "progress"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  // The target is 85 % killed; below it the run fails.
  thresholds: { high: 90, low: 85, break: 85 },
  tempDirName: ".stryker-tmp",
};
export default config;
