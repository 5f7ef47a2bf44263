/**
 * Rewrites a synthesised stack so that `terraform validate` and the offline plan can run where a provider binary
 * cannot be installed: each resource of that provider becomes a built-in `terraform_data`, and every reference to it
 * is redirected. Only for those checks; the rewritten copy is never applied.
 */

type JsonObject = Record<string, unknown>;

export interface StubResult {
  readonly document: JsonObject;
  /** Addresses replaced, "random_password.db" -> "terraform_data.random_password_db". */
  readonly replaced: Record<string, string>;
}

/** Meta-arguments that terraform_data accepts as well, kept so validation still sees them. */
const META_ARGUMENTS = ["count", "for_each", "depends_on", "lifecycle"];

export function stubProviderResources(document: JsonObject, provider: string): StubResult {
  const copy = structuredClone(document);
  const resources = (copy.resource ?? {}) as Record<string, Record<string, JsonObject>>;
  const dataSources = (copy.data ?? {}) as Record<string, unknown>;
  const prefix = `${provider}_`;
  const ownData = Object.keys(dataSources).filter((type) => type.startsWith(prefix));
  if (ownData.length > 0) throw new Error(`cannot stub data sources of provider ${provider}: ${ownData.join(", ")}`);

  const replaced: Record<string, string> = {};
  const stubs: Record<string, JsonObject> = {};
  for (const type of Object.keys(resources).filter((name) => name.startsWith(prefix))) {
    for (const [name, body] of Object.entries(resources[type])) {
      const stubName = `${type}_${name}`;
      const kept = Object.fromEntries(Object.entries(body).filter(([key]) => META_ARGUMENTS.includes(key)));
      // Numbers stay numbers (random_integer.result), everything else reads as a string.
      stubs[stubName] = { ...kept, input: type === "random_integer" ? 1 : "stubbed-for-validation" };
      replaced[`${type}.${name}`] = `terraform_data.${stubName}`;
    }
    delete resources[type];
  }
  if (Object.keys(stubs).length > 0) resources.terraform_data = { ...(resources.terraform_data ?? {}), ...stubs };

  const terraform = copy.terraform as JsonObject | undefined;
  delete (terraform?.required_providers as JsonObject | undefined)?.[provider];
  delete (copy.provider as JsonObject | undefined)?.[provider];

  return { document: rewriteReferences(copy, replaced) as JsonObject, replaced };
}

function rewriteReferences(value: unknown, replaced: Record<string, string>): unknown {
  if (typeof value === "string") {
    return value.replace(/\b([a-z0-9]+_[a-z0-9_]+)\.([A-Za-z0-9_-]+)(\.[A-Za-z0-9_]+)?/g, (match, type, name, attribute) => {
      const target = replaced[`${type}.${name}`];
      if (!target) return match;
      return attribute ? `${target}.output` : target;
    });
  }
  if (Array.isArray(value)) return value.map((item) => rewriteReferences(item, replaced));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, rewriteReferences(item, replaced)]));
  }
  return value;
}
