/**
 * Running terraform on copies of synthesised stacks, shared by `npm run validate` (validate and plan) and the tests:
 * the CLI config (offline provider mirror where it exists) and an init that stubs providers it cannot install.
 */
import { spawnSync } from "child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "fs";
import { join, resolve } from "path";
import { stubProviderResources } from "./stub-providers";

export const ROOT = resolve(__dirname, "..");
const MIRROR = "/opt/tf-plugins";
/** Providers whose resources may be stubbed when their binary cannot be installed. */
const STUBBABLE_PROVIDERS = ["random"];

export function terraformAvailable(): boolean {
  return spawnSync("terraform", ["version"], { stdio: "ignore" }).status === 0;
}

/** The Terraform CLI config: the offline provider mirror where it exists, else the registry. */
export function terraformCliConfig(): string {
  return existsSync(MIRROR) ? join(ROOT, "terraform/offline-mirror.tfrc") : join(ROOT, "terraform/registry.tfrc");
}

export function terraform(args: string[], cwd: string) {
  const result = spawnSync("terraform", [...args, "-no-color"], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, TF_CLI_CONFIG_FILE: terraformCliConfig(), TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" },
  });
  return { ok: result.status === 0, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

/** Names of providers that `terraform init` said it could not install. */
export function uninstallableProviders(initOutput: string): string[] {
  const names = new Set<string>();
  for (const match of initOutput.matchAll(/provider\s+(?:registry\.terraform\.io\/)?hashicorp\/([a-z0-9-]+)/g)) names.add(match[1]);
  return [...names];
}

export interface PreparedStack {
  readonly ok: boolean;
  /** Providers whose resources were replaced by terraform_data in this copy. */
  readonly stubbedProviders: string[];
  /** Addresses replaced, "random_password.db" -> "terraform_data.random_password_db". */
  readonly replaced: Record<string, string>;
  readonly output: string;
}

/**
 * `terraform init` in `workdir`, a copy of a synthesised stack. When a provider cannot be installed and may be stubbed,
 * its resources become terraform_data in this copy (logged, saying what for) and init runs again.
 */
export function initStack(stack: string, workdir: string, initArgs: string[], purpose: string, log: (line: string) => void): PreparedStack {
  let init = terraform(["init", ...initArgs, "-input=false"], workdir);
  const stubbedProviders: string[] = [];
  const replaced: Record<string, string> = {};
  if (!init.ok) {
    const missing = uninstallableProviders(init.output);
    if (missing.length === 0 || missing.some((provider) => !STUBBABLE_PROVIDERS.includes(provider))) {
      return { ok: false, stubbedProviders, replaced, output: init.output };
    }
    const file = join(workdir, "cdk.tf.json");
    let document = JSON.parse(readFileSync(file, "utf8"));
    for (const provider of missing) {
      const result = stubProviderResources(document, provider);
      document = result.document;
      stubbedProviders.push(provider);
      Object.assign(replaced, result.replaced);
      log(`[${stack}] provider hashicorp/${provider} cannot be installed here: ${purpose} a copy in which ${Object.keys(result.replaced).length} ${provider}_* resource(s) became terraform_data (${Object.keys(result.replaced).join(", ")})`);
    }
    writeFileSync(file, JSON.stringify(document, null, 2));
    rmSync(join(workdir, ".terraform.lock.hcl"), { force: true });
    init = terraform(["init", ...initArgs, "-input=false"], workdir);
  }
  return { ok: init.ok, stubbedProviders, replaced, output: init.output };
}

