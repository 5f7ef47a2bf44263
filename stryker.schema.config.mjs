// @ts-check
// The module-level mutants `npm run mutate` skips (ignoreStatic): the zod schemas of the config (config/schema.ts), of
// the events the node drainer takes, of each Lambda's environment and of the notifications the Slack forwarder
// formats, and the constant tables of the config and decision modules. Each such mutant reruns every related test
// file, so they run apart, in `npm run mutate:schema`.
import base from "./stryker.config.mjs";

/** Module-level code of each file (line ranges), beside config/schema.ts whole. */
export const MODULE_LEVEL_RANGES = [
  "config/backend.ts:7-24",
  "config/rds-max-connections.ts:22-36",
  "lambdas/autoscaler/settings.ts:58-75",
  "lambdas/node-drainer/events.ts:19-31",
  "lambdas/node-drainer/settings.ts:25-30",
  "lambdas/slack-forwarder/settings.ts:24-27",
  "lambdas/slack-forwarder/format.ts:36-56",
  "lambdas/shared/quantity.ts:3-5",
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  ...base,
  mutate: ["config/schema.ts", ...MODULE_LEVEL_RANGES],
  ignoreStatic: false,
  tempDirName: ".stryker-tmp-schema",
  htmlReporter: { fileName: "reports/mutation-schema/index.html" },
  jsonReporter: { fileName: "reports/mutation-schema/mutation.json" },
  ignorePatterns: [...(base.ignorePatterns ?? []), ".stryker-tmp-schema"],
};
export default config;
