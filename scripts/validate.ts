/**
 * `npm run validate`: synthesise, then `terraform init -backend=false` and `terraform validate` every stack,
 * offline where a provider mirror exists. Works on copies under .validate/ and never writes outside the repo.
 */
import { spawnSync } from "child_process";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { join, resolve } from "path";
import { loadBackendSettings, loadConfigAndBackend } from "../config/backend";
import { ClusterConfig, ConfigError } from "../config/resolve";
import { buildApp } from "../main";
import { PolicyViolationError } from "../modules/policy";
import { stubProviderResources } from "./stub-providers";

const ROOT = resolve(__dirname, "..");
const MIRROR = "/opt/tf-plugins";
/** Providers whose resources may be stubbed when their binary cannot be installed. */
const STUBBABLE_PROVIDERS = ["random"];

export interface ValidationOptions {
  readonly outdir?: string;
  readonly workdir?: string;
  readonly log?: (line: string) => void;
  /** The configuration to synthesise; default: the one K3S_AWS_CONFIG names. */
  readonly config?: ClusterConfig;
}

export interface StackResult {
  readonly stack: string;
  readonly valid: boolean;
  /** Providers whose resources were replaced by terraform_data for this run. */
  readonly stubbedProviders: string[];
  readonly output: string;
}

export function terraformAvailable(): boolean {
  return spawnSync("terraform", ["version"], { stdio: "ignore" }).status === 0;
}

function terraform(args: string[], cwd: string) {
  const cliConfig = existsSync(MIRROR) ? join(ROOT, "terraform/offline-mirror.tfrc") : join(ROOT, "terraform/registry.tfrc");
  const result = spawnSync("terraform", [...args, "-no-color"], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, TF_CLI_CONFIG_FILE: cliConfig, TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" },
  });
  return { ok: result.status === 0, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

/** Names of providers that `terraform init` said it could not install. */
export function uninstallableProviders(initOutput: string): string[] {
  const names = new Set<string>();
  for (const match of initOutput.matchAll(/provider\s+(?:registry\.terraform\.io\/)?hashicorp\/([a-z0-9-]+)/g)) names.add(match[1]);
  return [...names];
}

export function validateStack(stackDir: string, workdir: string, log: (line: string) => void): StackResult {
  const stack = stackDir.split("/").pop() as string;
  rmSync(workdir, { recursive: true, force: true });
  cpSync(stackDir, workdir, { recursive: true });

  let init = terraform(["init", "-backend=false", "-input=false"], workdir);
  const stubbedProviders: string[] = [];
  if (!init.ok) {
    const missing = uninstallableProviders(init.output);
    if (missing.length === 0 || missing.some((provider) => !STUBBABLE_PROVIDERS.includes(provider))) {
      return { stack, valid: false, stubbedProviders, output: init.output };
    }
    const file = join(workdir, "cdk.tf.json");
    let document = JSON.parse(readFileSync(file, "utf8"));
    for (const provider of missing) {
      const result = stubProviderResources(document, provider);
      document = result.document;
      stubbedProviders.push(provider);
      log(`[${stack}] provider hashicorp/${provider} cannot be installed here: validating a copy in which ${Object.keys(result.replaced).length} ${provider}_* resource(s) became terraform_data (${Object.keys(result.replaced).join(", ")})`);
    }
    writeFileSync(file, JSON.stringify(document, null, 2));
    rmSync(join(workdir, ".terraform.lock.hcl"), { force: true });
    init = terraform(["init", "-backend=false", "-input=false"], workdir);
    if (!init.ok) return { stack, valid: false, stubbedProviders, output: init.output };
  }
  const validate = terraform(["validate"], workdir);
  return { stack, valid: validate.ok, stubbedProviders, output: validate.output };
}

export function validateAll(options: ValidationOptions = {}): StackResult[] {
  const log = options.log ?? console.log;
  const outdir = options.outdir ?? join(ROOT, "cdktf.out");
  const workdir = options.workdir ?? join(ROOT, ".validate");
  const backendPath = join(ROOT, "backend.tf.json");
  // Both files' problems in one message, as `npm run synth` gives them.
  const { config, backend } = options.config ? { config: options.config, backend: loadBackendSettings(backendPath) } : loadConfigAndBackend(process.env, backendPath);
  buildApp(config, backend, outdir).synth();
  const stacksDir = join(outdir, "stacks");
  return readdirSync(stacksDir)
    .sort()
    .map((stack) => {
      const result = validateStack(join(stacksDir, stack), join(workdir, stack), log);
      log(`[${stack}] ${result.valid ? "valid" : "INVALID"}${result.valid ? "" : `\n${result.output}`}`);
      return result;
    });
}

if (require.main === module) {
  try {
    if (!terraformAvailable()) {
      console.error("terraform is not on PATH; install Terraform >= 1.11 to validate");
      process.exit(1);
    }
    const results = validateAll();
    process.exit(results.every((result) => result.valid) ? 0 : 1);
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof PolicyViolationError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
