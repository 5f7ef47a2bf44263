// @ts-check
// The second half of `npm run mutate`: mutation testing of the module wiring (README, "Mutation testing"). main.ts
// hands the resolved config to the modules and each module's outputs to the next; the drain timing turns one
// heartbeat into the function, queue and heartbeat durations; the tuning maps the config to the autoscaler's props.
import base from "./stryker.config.mjs";

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  ...base,
  jest: { configFile: "jest.wiring.config.js", enableFindRelatedTests: false },
  mutate: ["main.ts", "modules/automation/drain-timing.ts", "modules/automation/tuning.ts"],
  ignorePatterns: [...(base.ignorePatterns ?? []), ".stryker-tmp-wiring"],
  htmlReporter: { fileName: "reports/mutation-wiring/index.html" },
  jsonReporter: { fileName: "reports/mutation-wiring/mutation.json" },
  tempDirName: ".stryker-tmp-wiring",
};
export default config;
