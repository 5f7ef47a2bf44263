import { ClusterConfig, resolveConfig } from "../config/resolve";
import { configurationTable } from "./support/readme-configuration";

/**
 * The README's configuration table is what users read before they write a config file; this reads it and checks each
 * documented default against the config the app builds from an empty file (a production cluster), and that every
 * setting the config has is documented.
 */

/** The resolved config names some settings differently from the file, or resolves them into derived values. */
const RESOLVED_AS: Record<string, string> = { "network.availabilityZoneCount": "network.zoneCount" };
/** Resolved values that are not settings: derived from others, not documented as fields. */
const DERIVED = ["protectData", "architecture", "partition"];

function resolvedValue(config: unknown, field: string): unknown {
  return (RESOLVED_AS[field] ?? field).split(".").reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], config);
}

/** A default's first backticked literal, as JSON where it parses, else as the string it is. */
function firstLiteral(text: string): unknown {
  const literal = /^`([^`]+)`/.exec(text)?.[1];
  if (literal === undefined) return undefined;
  try {
    return JSON.parse(literal);
  } catch {
    return literal;
  }
}

const table = configurationTable();
const documentedFields = new Set(table.map((row) => row.field));

// Defaults the table states in words, each checked here by what the words say.
const IN_WORDS: Record<string, (value: unknown, defaults: ClusterConfig) => void> = {
  // "`availabilityZoneCount` zones, read at plan time": no zone is named in the config.
  "network.availabilityZones": (value) => expect(value).toBeUndefined(),
  // "derived": one subnet per zone, inside the VPC.
  "network.publicSubnetCidrs": (value, defaults) => expect(value).toHaveLength(defaults.network.zoneCount),
  "network.privateSubnetCidrs": (value, defaults) => expect(value).toHaveLength(defaults.network.zoneCount),
};

describe("README, Configuration: the table of defaults", () => {
  test("the table is found and lists the settings", () => {
    expect(table.length).toBeGreaterThan(40);
  });

  // Resolved in each test, not at load or in a hook: mutation testing attributes code run there to no test.
  test.each(table.map((row) => [row.field, row.text] as const))("%s: %s", (field, text) => {
    const defaults = resolveConfig({});
    const value = resolvedValue(defaults, field);
    if (IN_WORDS[field]) return IN_WORDS[field](value, defaults);
    if (text === "none") return expect(value).toBeUndefined();
    const literal = firstLiteral(text);
    if (literal === undefined) throw new Error(`${field}: the default "${text}" is neither a literal, "none", nor checked in words here`);
    // "`k3sVersion`": the value of another setting.
    if (typeof literal === "string" && documentedFields.has(literal)) return expect(value).toEqual(resolvedValue(defaults, literal));
    // A default that depends on the environment is written for production first ("`3` when highly available, else `1`").
    expect(value).toEqual(literal);
  });

  test("every setting the config resolves is in the table", () => {
    const defaults = resolveConfig({});
    const leaves = (value: unknown, path: string): string[] =>
      value !== null && typeof value === "object" && !Array.isArray(value) && path !== "tags"
        ? Object.entries(value).flatMap(([key, inner]) => leaves(inner, path ? `${path}.${key}` : key))
        : [path];
    const resolvedAs = new Map(Object.entries(RESOLVED_AS).map(([field, resolved]) => [resolved, field]));
    const undocumented = leaves(defaults, "")
      .filter((path) => !DERIVED.includes(path))
      .map((path) => resolvedAs.get(path) ?? path)
      .filter((field) => !documentedFields.has(field));
    expect(undocumented).toEqual([]);
  });
});
