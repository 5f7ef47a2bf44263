import { readFileSync } from "fs";
import { join } from "path";
import { AUTOMATION_ACCESS_KEYS, DATASTORE_DOCUMENT_KEYS } from "../contracts/secrets";
import { K3S_VERSION_PATTERN } from "../../config/schema";

const TEMPLATES = join(__dirname, "..", "..", "templates");
const PLACEHOLDER = /\{\{ ([A-Z0-9_]+) \}\}/g;

/** Reads a file under templates/. */
export function readTemplate(relativePath: string): string {
  return readFileSync(join(TEMPLATES, relativePath), "utf8");
}

/**
 * Terraform reads "${" and "%{" in any string as interpolation; the scripts' own must reach the instance literally.
 * Values substituted afterwards (Terraform references) are left as they are.
 */
export function escapeTerraformTemplate(text: string): string {
  return text.replace(/[$%]\{/g, (opening) => `${opening[0]}${opening}`);
}

/**
 * Replaces every `{{ NAME }}` with its value. Templates hold no logic; a placeholder without a value, or a value that
 * no placeholder uses, is an error rather than a silently broken script.
 */
export function fillPlaceholders(template: string, values: Record<string, string>, templateName: string, options = { partial: false }): string {
  const used = new Set<string>();
  const filled = template.replace(PLACEHOLDER, (match, name: string) => {
    const value = values[name];
    if (value === undefined) {
      if (options.partial) return match;
      throw new Error(`template ${templateName}: no value for {{ ${name} }}`);
    }
    used.add(name);
    return value;
  });
  const unused = Object.keys(values).filter((name) => !used.has(name));
  if (unused.length > 0) throw new Error(`template ${templateName}: values not used by any placeholder: ${unused.join(", ")}`);
  return filled;
}

/**
 * An included file (a manifest, a policy file: YAML, or minified JSON) without its whole-line comments. They explain
 * the templates to their maintainers; on an instance they only take room in user data, which EC2 caps at 16 KB
 * (compressed). Every block scalar in the manifests is a chart's values, which are YAML too, so a line starting with
 * "#" is a comment wherever it stands.
 */
export function withoutCommentLines(text: string): string {
  return text
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    .join("\n");
}

/**
 * A bootstrap script: `templates/<role>.sh` with the shared helpers and the given files (literal text, which may hold
 * placeholders of their own) included, escaped for Terraform, then filled with values that may be Terraform references.
 */
export function renderUserData(role: "server" | "agent", includes: Record<string, string>, values: Record<string, string>): string {
  const delivered = Object.fromEntries(Object.entries(includes).map(([name, text]) => [name, withoutCommentLines(text)]));
  const withIncludes = fillPlaceholders(readTemplate(`${role}.sh`), { LIB: readTemplate("lib.sh").trimEnd(), ...delivered }, `${role}.sh`, { partial: true });
  return fillPlaceholders(escapeTerraformTemplate(`${withIncludes.trimEnd()}\n`), values, `${role}.sh`);
}

/**
 * The keys of the secret documents a server reads and writes, as placeholders named after them (`{{ DATASTORE_KEY_DBNAME }}`
 * is "dbname", `{{ ACCESS_KEY_CA_DATA }}` is "caData"): the script spells no key itself, and since every value must fill
 * a placeholder, a key the contract adds, drops or renames fails the render until the script follows.
 */
export function secretDocumentKeys(): Record<string, string> {
  const placeholders = (document: string, keys: readonly string[]) =>
    keys.map((key) => [`${document}_KEY_${key.replace(/[A-Z]/g, (upper) => `_${upper}`).toUpperCase()}`, key]);
  return Object.fromEntries([...placeholders("DATASTORE", DATASTORE_DOCUMENT_KEYS), ...placeholders("ACCESS", AUTOMATION_ACCESS_KEYS)]);
}

/**
 * The taint of servers that admit no ordinary workloads: they run only what tolerates it (k3s's dedicated control
 * plane, docs/datastore/ha.md). The add-ons meant for the servers get its key through `{{ SERVER_TAINT_KEY }}`.
 */
export const SERVER_TAINT = { key: "CriticalAddonsOnly", value: "true", effect: "NoExecute" } as const;

/** The `node-taint` block of a server's config.yaml: `SERVER_TAINT`, unless ordinary workloads are allowed on servers. */
export function serverTaintsYaml(allowWorkloadsOnServers: boolean): string {
  return allowWorkloadsOnServers ? "" : `node-taint:\n  - ${SERVER_TAINT.key}=${SERVER_TAINT.value}:${SERVER_TAINT.effect}`;
}

/**
 * The first release of the cluster's Kubernetes minor, for add-ons that must never be newer than the API server
 * (the AWS cloud controller, cluster-autoscaler): "v1.33.5+k3s1" runs "v1.33.0".
 */
export function kubernetesMinorImageTag(k3sVersion: string): string {
  const minor = K3S_VERSION_PATTERN.exec(k3sVersion);
  if (!minor) throw new Error(`Compute: k3sVersion "${k3sVersion}" is not a k3s release tag such as "v1.33.5+k3s1"`);
  return `v1.${minor[1]}.0`;
}
