import { ConfigError, resolveConfig } from "../../config/resolve";

/**
 * The problems a config is refused for, as the user sees them listed; fails when the config is accepted. Kept apart
 * from helpers.ts, which loads the whole stack: the config suites run once per mutant under mutation testing.
 */
export function problemsOf(input: unknown): string[] {
  try {
    resolveConfig(input);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("config was accepted");
}
