// @ts-check
// config/schema.ts alone with its module-level mutants (the zod schema's bounds, patterns, enums and messages), which
// `npm run mutate` skips (ignoreStatic). Each such mutant reruns every related test file.
import base from "./stryker.config.mjs";

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  ...base,
  mutate: ["config/schema.ts"],
  ignoreStatic: false,
  tempDirName: ".stryker-tmp-schema",
  htmlReporter: { fileName: "reports/mutation-schema/index.html" },
  jsonReporter: { fileName: "reports/mutation-schema/mutation.json" },
  ignorePatterns: [...(base.ignorePatterns ?? []), ".stryker-tmp-schema"],
};
export default config;
