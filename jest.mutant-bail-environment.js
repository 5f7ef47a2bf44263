// Jest environment for `npm run mutate`. Stryker stops testing a mutant at its first failing test, but with jest it
// cannot: jest has no programmatic bail (jestjs/jest#11766, cited by @stryker-mutator/jest-runner's override options),
// so every covering test of a killed mutant still runs. This environment skips the rest of a mutant's tests once one
// has failed, in this file and the files after it; a surviving mutant still runs all of them.
const { TestEnvironment } = require("jest-environment-node");

// Module state outlives one test file: jest loads the environment class once per process.
let mutantWithFailure;

class MutantBailEnvironment extends TestEnvironment {
  async handleTestEvent(event) {
    const activeMutant = process.env.__STRYKER_ACTIVE_MUTANT__;
    if (activeMutant === undefined) return;
    if (event.name === "test_done" && event.test.errors.length > 0) mutantWithFailure = activeMutant;
    else if (event.name === "test_start" && mutantWithFailure === activeMutant) event.test.mode = "skip";
  }
}

module.exports = MutantBailEnvironment;
