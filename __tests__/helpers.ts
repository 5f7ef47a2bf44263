import { ALERT_SUBJECT_TEMPLATE } from "../lambdas/shared/notifications";
import { Testing } from "cdktf";
import { load, loadAll } from "js-yaml";
import { S3BackendSettings } from "../config/backend";
import { ClusterConfig, resolveConfig } from "../config/resolve";
import { ConfigInput } from "../config/schema";
import { ClusterStack } from "../main";

export type TerraformJson = {
  terraform: Record<string, any>;
  resource: Record<string, Record<string, Record<string, any>>>;
  data?: Record<string, Record<string, Record<string, any>>>;
  output?: Record<string, Record<string, any>>;
  provider?: Record<string, any>;
};

export interface SynthesisedCluster {
  readonly config: ClusterConfig;
  readonly stack: ClusterStack;
  /** Synthesised JSON text, for cdktf's matchers. */
  readonly synthesized: string;
  readonly json: TerraformJson;
}

export function synthCluster(input: ConfigInput = {}, backend?: S3BackendSettings): SynthesisedCluster {
  const config = resolveConfig(input);
  const stack = new ClusterStack(Testing.app(), "cluster", config, backend);
  const synthesized = Testing.synth(stack);
  return { config, stack, synthesized, json: JSON.parse(synthesized) };
}

/** Resources of one type as [logical ID, body] pairs. */
export function resourcesOf(json: TerraformJson, type: string): [string, Record<string, any>][] {
  return Object.entries(json.resource[type] ?? {});
}

/** The single resource of `type` whose logical ID starts with `prefix` (cdktf appends a hash). */
export function resourceNamed(json: TerraformJson, type: string, prefix: string): Record<string, any> {
  const matches = resourcesOf(json, type).filter(([id]) => id.startsWith(`${prefix}_`));
  if (matches.length !== 1) throw new Error(`expected one ${type} named ${prefix}, found ${matches.map(([id]) => id).join(", ") || "none"}`);
  return matches[0][1];
}

/** "${aws_subnet.X.id}" -> the logical ID X of the referenced resource. */
export function referencedId(reference: string): string {
  const match = /^\$\{[a-z0-9_]+\.([A-Za-z0-9_]+)\.[a-z_]+\}$/.exec(reference);
  if (!match) throw new Error(`not a single reference: ${reference}`);
  return match[1];
}

/** "${type.<logical ID>.attribute}" for the resource of `type` whose logical ID starts with `prefix`. */
export function ref(json: TerraformJson, type: string, prefix: string, attribute: string): string {
  return `\${${type}.${logicalIdOf(json, type, prefix)}.${attribute}}`;
}

export function logicalIdOf(json: TerraformJson, type: string, prefix: string): string {
  const match = resourcesOf(json, type).find(([id]) => id.startsWith(`${prefix}_`));
  if (!match) throw new Error(`no ${type} named ${prefix}`);
  return match[0];
}

/**
 * A synthesised `${jsonencode({"key" = type.logical_id.attribute, ...})}` as [key, reference] pairs. Any other entry (a
 * literal, a function call) is an error, so no key escapes a test that evaluates the references.
 */
export function jsonencodedObject(terraformString: string): [string, string][] {
  const body = /^\$\{jsonencode\(\{(.*)\}\)\}$/s.exec(terraformString);
  if (!body) throw new Error(`not a jsonencode of an object: ${terraformString}`);
  return body[1].split(", ").map((entry) => {
    const match = /^"([^"]+)" = ([a-z][a-z0-9_]*\.[A-Za-z0-9_]+\.[a-z_]+)$/.exec(entry);
    if (!match) throw new Error(`not a "key" = reference entry: ${entry}`);
    return [match[1], match[2]];
  });
}

/** The Terraform local whose logical ID starts with `prefix`. */
export function localNamed(json: TerraformJson, prefix: string): string {
  const locals = (json as { locals?: Record<string, string> }).locals ?? {};
  const match = Object.entries(locals).find(([id]) => id.startsWith(`${prefix}_`));
  if (!match) throw new Error(`no local ${prefix}`);
  return match[1];
}

/**
 * What an instance receives from a Terraform string: escaped "$${" and "%%{" become literal, and each reference
 * becomes "example-<attribute>" (or what `resolve` gives for it) in place of the value Terraform would fill in.
 */
export function asDelivered(terraformString: string, resolve = (reference: string) => `example-${reference.split(".").pop()}`): string {
  return terraformString.replace(/\$\$\{|%%\{|\$\{([a-z][a-z0-9_]*\.[^}]+)\}/g, (match, reference?: string) => {
    if (reference) return resolve(reference);
    return match === "$${" ? "${" : "%{";
  });
}

/**
 * What a Terraform reference in a Lambda's environment becomes at apply: an ARN or a name that says what it
 * references, or the size of a t4g.large for the instance-type data source, so a variable wired to the wrong resource
 * or attribute shows.
 */
export function appliedReference(value: string): string {
  const reference = /^\$\{(.+)\.([a-z_]+)\}$/.exec(value);
  if (!reference) return value;
  const [, address, attribute] = reference;
  return ({ arn: `arn:aws:test:${address}`, default_vcpus: "2", memory_size: "8192" } as Record<string, string>)[attribute] ?? `${address}.${attribute}`;
}

/** A Lambda's synthesised environment as the function sees it after apply. */
export function appliedLambdaEnvironment(json: TerraformJson, id: "Autoscaler" | "NodeDrainer" | "SlackForwarder"): Record<string, string> {
  const variables = resourceNamed(json, "aws_lambda_function", `Automation_${id}`).environment.variables as Record<string, string>;
  return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, appliedReference(value)]));
}

// Rendered documents are parsed, never grepped: config.yaml, every manifest and every policy file come out of the
// delivered script's here-documents and through js-yaml, and the assertions read fields. Terraform references stay visible as
// "tf:<type>.<logical ID>.<attribute>", so a field wired to the wrong resource shows.
export const keepReferences = (reference: string) => `tf:${reference}`;
export const tf = (json: TerraformJson, type: string, prefix: string, attribute: string) => `tf:${ref(json, type, prefix, attribute).slice(2, -1)}`;

/**
 * The config.yaml a script writes, parsed. Its here-document is unquoted, so the shell expands it: each
 * `$(yaml_quote "$VAR")` is taken as the string "$VAR" and a bare $VAR stays as written, so the result says which
 * variable feeds which field. The values themselves are asserted where the script really runs (bootstrap-sandbox.test.ts).
 */
export function writtenConfig(script: string): Record<string, any> {
  const opening = "cat >/etc/rancher/k3s/config.yaml <<YAML\n";
  const delivered = asDelivered(script, keepReferences);
  const start = delivered.indexOf(opening);
  if (start === -1) throw new Error("the script writes no config.yaml");
  const body = delivered.slice(start + opening.length, delivered.indexOf("\nYAML\n", start));
  const named = body.replace(/\$\(yaml_quote "\$([A-Z][A-Z0-9_]*)"\)/g, '"$$$1"');
  if (named.includes("$(")) throw new Error(`config.yaml has a command substitution this parser does not model: ${named}`);
  return load(named) as Record<string, any>;
}

/** Every manifest a server writes to $MANIFESTS (quoted here-documents, so written as delivered), as its parsed documents. */
export function writtenManifests(script: string): Record<string, any[]> {
  const delivered = asDelivered(script, keepReferences);
  const manifests: Record<string, any[]> = {};
  for (const [, name, body] of delivered.matchAll(/^cat >"\$MANIFESTS\/([a-z0-9-]+)\.yaml" <<'YAML'\n([\s\S]*?)\nYAML$/gm)) {
    manifests[name] = loadAll(body) as any[];
  }
  return manifests;
}

/** The statements of the aws_iam_policy_document a policy argument (`${data.aws_iam_policy_document.<id>.json}`) names. */
export function documentStatements(json: TerraformJson, policyReference: string): any[] {
  const documentId = /^\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_]+)\.json\}$/.exec(policyReference)![1];
  return json.data!.aws_iam_policy_document[documentId].statement;
}

/** The values k3s's Traefik chart gets from the HelmChartConfig the servers write. */
export function traefikValues(json: TerraformJson): any {
  return load(documentOf(writtenManifests(localNamed(json, "Compute_Servers_UserData"))["traefik-node-ports"], "HelmChartConfig").spec.valuesContent);
}

/** The values a HelmChart manifest the servers write gives its chart (spec.valuesContent, parsed). */
export function serverChartValues(json: TerraformJson, manifest: string): any {
  return load(documentOf(writtenManifests(localNamed(json, "Compute_Servers_UserData"))[manifest], "HelmChart").spec.valuesContent);
}

/** A Grafana dashboard's panels, those inside rows included. */
export function panelsOf(dashboard: any): any[] {
  return dashboard.panels.flatMap((panel: any) => [panel, ...(panel.panels ?? [])]);
}

/** The default StorageClass(es): those annotated is-default-class "true" (Kubernetes docs, "Change the default StorageClass"). */
export function defaultStorageClasses(manifests: Record<string, any[]>): string[] {
  return Object.values(manifests)
    .flat()
    .filter((document) => document?.kind === "StorageClass" && document.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true")
    .map((document) => document.metadata.name);
}

/** The one document of `kind` in a manifest. */
export function documentOf(documents: any[], kind: string): any {
  const matches = documents.filter((document) => document?.kind === kind);
  if (matches.length !== 1) throw new Error(`expected one ${kind}, found ${matches.length}`);
  return matches[0];
}

/**
 * The files a script writes from quoted here-documents (`cat >"$VAR" <<'YAML'`, written as delivered) to a path held in
 * a variable the script assigns once (`VAR="/path"`), by that path, as their parsed documents.
 */
export function writtenFiles(script: string): Record<string, any[]> {
  const delivered = asDelivered(script, keepReferences);
  const files: Record<string, any[]> = {};
  for (const [, variable, body] of delivered.matchAll(/^cat >"\$([A-Z][A-Z0-9_]*)" <<'YAML'\n([\s\S]*?)\nYAML$/gm)) {
    const assignments = [...delivered.matchAll(new RegExp(`^${variable}="([^"$]+)"$`, "gm"))];
    if (assignments.length !== 1) throw new Error(`the script assigns $${variable} ${assignments.length} times; expected once, to a literal path`);
    files[assignments[0][1]] = loadAll(body) as any[];
  }
  return files;
}

/**
 * A script with the Go templates it legitimately carries taken out (Alertmanager's notification subject, in the
 * monitoring chart's values as JSON), so what is left can be checked for unfilled "{{ NAME }}" placeholders.
 */
export function withoutGoTemplates(script: string): string {
  return script.split(JSON.stringify(ALERT_SUBJECT_TEMPLATE).slice(1, -1)).join("");
}
