import { readFileSync } from "fs";
import { ConfigError, ClusterConfig, resolveConfig } from "./resolve";

/** Environment variable naming the JSON file that overrides the defaults. */
export const CONFIG_ENV_VAR = "K3S_AWS_CONFIG";

/** Reads a JSON file, turning a missing file or bad JSON into a ConfigError that names the file. */
export function readJsonFile(path: string, label: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError([`${label} ${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`]);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${label} ${path}: is not valid JSON (${(error as Error).message})`]);
  }
}

/** The embedded defaults, overridden by the file named in K3S_AWS_CONFIG when it is set. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ClusterConfig {
  const path = env[CONFIG_ENV_VAR];
  return resolveConfig(path ? readJsonFile(path, CONFIG_ENV_VAR) : {});
}
