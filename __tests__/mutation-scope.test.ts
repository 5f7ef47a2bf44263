import { readdirSync, readFileSync } from "fs";
import { join } from "path";

// `npm run mutate` reruns, for every mutant, each test file related to the mutated module that jest.mutate.config.js
// keeps. A suite that synthesises the whole stack costs seconds per mutant, so one that slips into that set (a new
// suite not added to its ignore patterns) turns a 15-minute run into hours. This keeps the set to unit suites.

const testsDir = __dirname;
const mutateConfig = require(join(testsDir, "..", "jest.mutate.config.js")) as { testPathIgnorePatterns: string[] };

/** Imports that load the whole stack: the app, the synthesis helpers, or a construct module. */
const SYNTHESIS_IMPORT = /from "(\.\/helpers|\.\.\/main|\.\.\/modules\/[^"]+)"/;

test("the mutation run's suites load no synthesis: each suite that does is in jest.mutate.config.js's ignore patterns", () => {
  const kept = readdirSync(testsDir)
    .filter((file) => file.endsWith(".test.ts"))
    .filter((file) => !mutateConfig.testPathIgnorePatterns.some((pattern) => new RegExp(pattern).test(`/__tests__/${file}`)));
  expect(kept.length).toBeGreaterThan(5);
  const synthesising = kept.filter((file) => SYNTHESIS_IMPORT.test(readFileSync(join(testsDir, file), "utf8")));
  expect(synthesising).toEqual([]);
});
