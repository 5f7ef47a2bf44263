/**
 * `npm run validate`: synthesise, then `terraform init -backend=false` and `terraform validate` every stack, then the
 * real `terraform plan` of each against a loopback AWS stub (scripts/plan.ts); offline where a provider mirror exists.
 * Works on copies under .validate/ and never writes outside the repo.
 */
import { cpSync, readdirSync, rmSync } from "fs";
import { join } from "path";
import { loadBackendSettings, loadConfigAndBackend } from "../config/backend";
import { ClusterConfig, ConfigError } from "../config/resolve";
import { buildApp } from "../main";
import { PolicyViolationError } from "../modules/policy";
import { planStacks, worldFor } from "./plan";
import { initStack, ROOT, terraform, terraformAvailable } from "./terraform";

export { terraformAvailable, uninstallableProviders } from "./terraform";

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

export function validateStack(stackDir: string, workdir: string, log: (line: string) => void): StackResult {
  const stack = stackDir.split("/").pop() as string;
  rmSync(workdir, { recursive: true, force: true });
  cpSync(stackDir, workdir, { recursive: true });
  const init = initStack(stack, workdir, ["-backend=false"], "validating", log);
  if (!init.ok) return { stack, valid: false, stubbedProviders: init.stubbedProviders, output: init.output };
  const validate = terraform(["validate"], workdir);
  return { stack, valid: validate.ok, stubbedProviders: init.stubbedProviders, output: validate.output };
}

/** Loads the configuration (unless given), synthesises every stack, and returns where they are. */
export function synthesise(options: ValidationOptions = {}): { config: ClusterConfig; stacksDir: string } {
  const outdir = options.outdir ?? join(ROOT, "cdktf.out");
  const backendPath = join(ROOT, "backend.tf.json");
  // Both files' problems in one message, as `npm run synth` gives them.
  const { config, backend } = options.config ? { config: options.config, backend: loadBackendSettings(backendPath) } : loadConfigAndBackend(process.env, backendPath);
  buildApp(config, backend, outdir).synth();
  return { config, stacksDir: join(outdir, "stacks") };
}

export function validateStacks(stacksDir: string, workdir: string, log: (line: string) => void): StackResult[] {
  return readdirSync(stacksDir)
    .sort()
    .map((stack) => {
      const result = validateStack(join(stacksDir, stack), join(workdir, stack), log);
      log(`[${stack}] ${result.valid ? "valid" : "INVALID"}${result.valid ? "" : `\n${result.output}`}`);
      return result;
    });
}

export function validateAll(options: ValidationOptions = {}): StackResult[] {
  const { stacksDir } = synthesise(options);
  return validateStacks(stacksDir, options.workdir ?? join(ROOT, ".validate"), options.log ?? console.log);
}

/** Validates every stack, then plans each offline against the AWS stub (scripts/plan.ts); exits non-zero on any failure. */
async function main(): Promise<number> {
  if (!terraformAvailable()) {
    console.error("terraform is not on PATH; install Terraform >= 1.11 to validate");
    return 1;
  }
  const { config, stacksDir } = synthesise();
  const workdir = join(ROOT, ".validate");
  const results = validateStacks(stacksDir, workdir, console.log);
  if (!results.every((result) => result.valid)) return 1;
  const plans = await planStacks(stacksDir, worldFor(config), join(workdir, "plan"), console.log);
  return plans.every((plan) => plan.ok) ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      console.error(error instanceof ConfigError || error instanceof PolicyViolationError ? error.message : error);
      process.exit(1);
    },
  );
}
