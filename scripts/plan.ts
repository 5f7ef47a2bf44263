/**
 * The real `terraform plan` of a synthesised stack, offline: the real hashicorp/aws provider plans against an empty
 * state, with its provider block overridden in a copy (fake static credentials, no account or region look-ups, every
 * service endpoint of the stack at the loopback stub of scripts/aws-stub.ts, which answers the few calls the plan
 * makes). Used by `npm run validate` and __tests__/plan.test.ts. Never applies anything.
 */
import { spawn } from "child_process";
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { join } from "path";
import { ClusterConfig } from "../config/resolve";
import { AwsStub, startAwsStub, StubCall, stubWorld, StubWorld, UnexpectedCall } from "./aws-stub";
import { initStack, PreparedStack, terraformCliConfig } from "./terraform";

/**
 * The provider's `endpoints` key for each resource and data source type the stacks use (a key matches the type
 * itself and types that continue with "_"). A type missing here stops the plan before it starts, so no endpoint is
 * left at its AWS default; the stub also acts as the HTTPS proxy and names any request that slips past anyway.
 */
const ENDPOINT_OF_TYPE: readonly [type: string, endpoint: string][] = [
  ["aws_ami", "ec2"],
  ["aws_availability_zones", "ec2"],
  ["aws_default_security_group", "ec2"],
  ["aws_ec2", "ec2"],
  ["aws_eip", "ec2"],
  ["aws_flow_log", "ec2"],
  ["aws_internet_gateway", "ec2"],
  ["aws_key_pair", "ec2"],
  ["aws_launch_template", "ec2"],
  ["aws_nat_gateway", "ec2"],
  ["aws_network_acl", "ec2"],
  ["aws_route", "ec2"],
  ["aws_security_group", "ec2"],
  ["aws_subnet", "ec2"],
  ["aws_vpc", "ec2"],
  ["aws_autoscaling", "autoscaling"],
  ["aws_acm", "acm"],
  ["aws_cloudfront", "cloudfront"],
  ["aws_route53", "route53"],
  ["aws_backup", "backup"],
  ["aws_caller_identity", "sts"],
  ["aws_cloudwatch_event", "events"],
  ["aws_cloudwatch_log", "logs"],
  ["aws_cloudwatch_dashboard", "cloudwatch"],
  ["aws_cloudwatch_metric_alarm", "cloudwatch"],
  ["aws_db", "rds"],
  ["aws_dynamodb", "dynamodb"],
  ["aws_efs", "efs"],
  ["aws_iam", "iam"],
  ["aws_kms", "kms"],
  ["aws_lambda", "lambda"],
  ["aws_lb", "elbv2"],
  ["aws_s3", "s3"],
  ["aws_secretsmanager", "secretsmanager"],
  ["aws_sns", "sns"],
  ["aws_sqs", "sqs"],
];

/** Data sources the provider computes without calling AWS. */
const LOCAL_DATA_SOURCES = ["aws_partition", "aws_region"];

/** The access key and secret of the AWS documentation's examples: well-formed, and valid nowhere. */
const FAKE_CREDENTIALS = { access_key: "AKIAIOSFODNN7EXAMPLE", secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };

const PLAN_FILE = "tfplan";
/** Upper bound for one plan, so a provider stuck retrying cannot hang `npm test`. */
const PLAN_TIMEOUT_MS = 5 * 60_000;
/** After an interrupt, how long terraform gets to stop its provider and exit before it is killed. */
const INTERRUPT_GRACE_MS = 30_000;

type JsonObject = Record<string, any>;

export interface PlanDiagnostic {
  readonly severity: string;
  readonly summary: string;
  readonly detail?: string;
  readonly address?: string;
}

/** The parts of `terraform show -json <plan>` this project reads. */
export interface PlanJson {
  readonly format_version: string;
  readonly errored?: boolean;
  readonly resource_changes?: ResourceChange[];
  readonly planned_values: { root_module: { resources?: PlannedResource[] } };
  readonly configuration: { root_module: { resources?: ConfiguredResource[] } };
  readonly [key: string]: unknown;
}

export interface ResourceChange {
  readonly address: string;
  readonly mode: "managed" | "data";
  readonly type: string;
  readonly name: string;
  readonly change: { actions: string[]; after?: JsonObject; after_unknown?: JsonObject };
  readonly action_reason?: string;
}

export interface PlannedResource {
  readonly address: string;
  readonly mode: "managed" | "data";
  readonly type: string;
  readonly name: string;
  readonly values: JsonObject;
}

export interface ConfiguredResource {
  readonly address: string;
  readonly mode: "managed" | "data";
  readonly type: string;
  readonly name: string;
  readonly expressions: JsonObject;
}

export interface PlanResult {
  readonly stack: string;
  /** Plan succeeded with no diagnostics, every AWS call was answered, and every change is a create (or a read). */
  readonly ok: boolean;
  /** What made it not ok, one line each. */
  readonly problems: string[];
  readonly diagnostics: PlanDiagnostic[];
  /** Every AWS call the plan made, in order. */
  readonly calls: readonly StubCall[];
  readonly unexpected: readonly UnexpectedCall[];
  /** Providers whose resources were replaced by terraform_data in the planned copy. */
  readonly stubbedProviders: string[];
  /** Addresses replaced, "random_password.db" -> "terraform_data.random_password_db". */
  readonly replaced: Record<string, string>;
  readonly plan?: PlanJson;
  readonly seconds: number;
}

/** The provider's endpoint keys a stack needs; throws naming any type this file does not map. */
export function endpointsFor(document: JsonObject): string[] {
  const types = [...Object.keys(document.resource ?? {}), ...Object.keys(document.data ?? {})].filter((type) => type.startsWith("aws_"));
  const endpoints = new Set<string>();
  const unmapped: string[] = [];
  for (const type of types) {
    if (LOCAL_DATA_SOURCES.includes(type)) continue;
    const entry = ENDPOINT_OF_TYPE.find(([key]) => type === key || type.startsWith(`${key}_`));
    if (entry) endpoints.add(entry[1]);
    else unmapped.push(type);
  }
  if (unmapped.length > 0) throw new Error(`no provider endpoint known for ${unmapped.join(", ")}: add it to ENDPOINT_OF_TYPE in scripts/plan.ts`);
  return [...endpoints].sort();
}

/**
 * The override file planned with the stack: the provider pointed at the stub, and a local backend inside the copy, so
 * the plan starts from an empty state whatever backend was synthesised (an S3 backend, or cdktf's local path outside).
 */
export function planOverride(endpointKeys: string[], endpoint: string, aliases: string[] = []): JsonObject {
  const stubbed = {
    ...FAKE_CREDENTIALS,
    skip_credentials_validation: true,
    skip_requesting_account_id: true,
    skip_metadata_api_check: true,
    skip_region_validation: true,
    s3_use_path_style: true,
    endpoints: [Object.fromEntries(endpointKeys.map((key) => [key, endpoint]))],
  };
  return {
    terraform: { backend: { local: { path: "terraform.tfstate" } } },
    // An override replaces the provider block of the same name and alias, so each aliased provider (the backup copy
    // region's) is pointed at the stub too.
    provider: { aws: [stubbed, ...aliases.map((alias) => ({ alias, ...stubbed }))] },
  };
}

/** Aliases of the stack's AWS providers: a second region, such as CloudFront's "us_east_1" or "backup_copy". */
export function awsProviderAliases(document: JsonObject): string[] {
  const providers = ((document.provider as JsonObject | undefined)?.aws ?? []) as { alias?: string }[];
  return providers.flatMap((provider) => (provider.alias ? [provider.alias] : []));
}

/**
 * The terraform process's environment: no AWS settings of the caller (profile, keys, region, endpoint URLs, config
 * files), no instance metadata, no variables or workspace from outside, and the stub as proxy for any non-loopback
 * request (Go never proxies loopback, so the endpoints themselves go direct).
 */
export function planEnvironment(stubEndpoint: string, environment: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const kept = Object.entries(environment).filter(([key]) => !/^AWS_/i.test(key) && !/^TF_(VAR_|DATA_DIR$|WORKSPACE$|CLI_ARGS)/.test(key) && !/^(https?|no|all)_proxy$/i.test(key));
  return {
    ...Object.fromEntries(kept),
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    HTTP_PROXY: stubEndpoint,
    HTTPS_PROXY: stubEndpoint,
    TF_CLI_CONFIG_FILE: terraformCliConfig(),
    TF_IN_AUTOMATION: "1",
    CHECKPOINT_DISABLE: "1",
  };
}

/**
 * Runs terraform, interrupting it (SIGINT, as Ctrl-C: it cancels the provider's requests and exits with their errors)
 * when `interrupt` settles or the time limit passes, and killing it if it does not exit soon after.
 */
function run(args: string[], cwd: string, env: NodeJS.ProcessEnv, interrupt?: Promise<unknown>): Promise<{ code: number | null; stdout: string; stderr: string; interrupted: string | undefined }> {
  return new Promise((resolve, reject) => {
    const child = spawn("terraform", args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let interrupted: string | undefined;
    let kill: NodeJS.Timeout | undefined;
    const stop = (reason: string) => {
      if (interrupted || child.exitCode !== null) return;
      interrupted = reason;
      child.kill("SIGINT");
      kill = setTimeout(() => child.kill("SIGKILL"), INTERRUPT_GRACE_MS);
    };
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => stop(`no result after ${PLAN_TIMEOUT_MS / 1000} s`), PLAN_TIMEOUT_MS);
    // The provider retries a request it could not deliver for minutes; one refused call is enough to fail the plan.
    interrupt?.then(() => stop("interrupted after a call the stub does not answer"));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      clearTimeout(kill);
      resolve({ code, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8"), interrupted });
    });
  });
}

/** Diagnostics from `terraform plan -json`'s machine-readable stream. */
export function planDiagnostics(stream: string): PlanDiagnostic[] {
  const diagnostics: PlanDiagnostic[] = [];
  for (const line of stream.split("\n")) {
    if (!line.startsWith("{")) continue;
    const message = JSON.parse(line);
    if (message.type !== "diagnostic") continue;
    const { severity, summary, detail, address } = message.diagnostic;
    diagnostics.push({ severity, summary, ...(detail ? { detail } : {}), ...(address ? { address } : {}) });
  }
  return diagnostics;
}

/** Changes a plan on an empty state may hold: resources created, data sources read (at apply when their inputs are unknown). */
export function unexpectedActions(plan: PlanJson): string[] {
  return (plan.resource_changes ?? [])
    .filter((change) => JSON.stringify(change.change.actions) !== JSON.stringify(change.mode === "data" ? ["read"] : ["create"]))
    .map((change) => `${change.address}: ${change.change.actions.join(", ")}`);
}

interface PreparedPlan {
  readonly stack: string;
  readonly workdir: string;
  readonly stub: AwsStub;
  readonly init: PreparedStack;
  readonly started: number;
}

/** Copies the stack, starts its stub, writes the override and runs `terraform init` (synchronously: no plan runs yet). */
async function preparePlan(stackDir: string, workdir: string, world: StubWorld, log: (line: string) => void): Promise<PreparedPlan> {
  const started = Date.now();
  const stack = stackDir.split("/").pop() as string;
  rmSync(workdir, { recursive: true, force: true });
  cpSync(stackDir, workdir, { recursive: true });
  const document = JSON.parse(readFileSync(join(workdir, "cdk.tf.json"), "utf8"));
  const endpointKeys = endpointsFor(document);
  const stub = await startAwsStub(world);
  writeFileSync(join(workdir, "plan_override.tf.json"), JSON.stringify(planOverride(endpointKeys, stub.endpoint, awsProviderAliases(document)), null, 2));
  const init = initStack(stack, workdir, [], "planning", log);
  return { stack, workdir, stub, init, started };
}

async function runPlan({ stack, workdir, stub, init, started }: PreparedPlan): Promise<PlanResult> {
  const base = { stack, calls: stub.calls, unexpected: stub.unexpected, stubbedProviders: init.stubbedProviders, replaced: init.replaced };
  const seconds = () => Math.round((Date.now() - started) / 100) / 10;
  try {
    if (!init.ok) return { ...base, ok: false, problems: [`terraform init failed:\n${init.output}`], diagnostics: [], seconds: seconds() };
    const env = planEnvironment(stub.endpoint);
    const plan = await run(["plan", "-input=false", "-lock=false", "-json", `-out=${PLAN_FILE}`], workdir, env, stub.firstUnexpected);
    const diagnostics = planDiagnostics(plan.stdout);
    const problems: string[] = [];
    for (const call of stub.unexpected) problems.push(`AWS call not answered by the stub: ${call.call} (${call.reason}) ${JSON.stringify(call.parameters)}`);
    for (const diagnostic of diagnostics) problems.push(`${diagnostic.severity}: ${diagnostic.summary}${diagnostic.address ? ` (${diagnostic.address})` : ""}${diagnostic.detail ? `: ${diagnostic.detail}` : ""}`);
    if (plan.code !== 0 || plan.interrupted) {
      problems.push(`terraform plan ${plan.interrupted ? `${plan.interrupted}, ` : ""}exited with ${plan.code}${plan.stderr ? `:\n${plan.stderr}` : ""}`);
      return { ...base, ok: false, problems, diagnostics, seconds: seconds() };
    }
    const show = await run(["show", "-json", "-no-color", PLAN_FILE], workdir, env);
    if (show.code !== 0) {
      problems.push(`terraform show exited with ${show.code}:\n${show.stderr}`);
      return { ...base, ok: false, problems, diagnostics, seconds: seconds() };
    }
    const planJson = JSON.parse(show.stdout) as PlanJson;
    if (planJson.errored) problems.push("the plan is marked errored");
    problems.push(...unexpectedActions(planJson).map((change) => `not a create on an empty state: ${change}`));
    return { ...base, ok: problems.length === 0, problems, diagnostics, plan: planJson, seconds: seconds() };
  } finally {
    await stub.close();
  }
}

export async function planStack(stackDir: string, workdir: string, world: StubWorld, log: (line: string) => void): Promise<PlanResult> {
  return runPlan(await preparePlan(stackDir, workdir, world, log));
}

/**
 * Plans the named stacks of a synthesis (default: all) side by side, each with its own stub, in workdir/<stack>. Most
 * of a plan is the provider loading its schema on one core, so two plans take little longer than one.
 */
export async function planStacks(stacksDir: string, world: StubWorld, workdir: string, log: (line: string) => void, stacks?: string[]): Promise<PlanResult[]> {
  const prepared: PreparedPlan[] = [];
  try {
    for (const stack of stacks ?? readdirSync(stacksDir).sort()) prepared.push(await preparePlan(join(stacksDir, stack), join(workdir, stack), world, log));
  } catch (error) {
    await Promise.all(prepared.map((plan) => plan.stub.close()));
    throw error;
  }
  return Promise.all(
    prepared.map(async (plan) => {
      const result = await runPlan(plan);
      log(planSummary(result));
      return result;
    }),
  );
}

/** The stub's world for a configuration: its region, and its pinned Amazon Linux release among the images. */
export function worldFor(config: ClusterConfig): StubWorld {
  return stubWorld(config.region, [config.nodeImage.release]);
}

/** Managed resources the plan creates, per type; stubbed random_* resources counted under their own type. */
export function createdPerType(result: PlanResult): Record<string, number> {
  const original = Object.fromEntries(Object.entries(result.replaced).map(([address, stub]) => [stub, address.split(".")[0]]));
  const counts: Record<string, number> = {};
  for (const change of result.plan?.resource_changes ?? []) {
    if (change.mode !== "managed" || !change.change.actions.includes("create")) continue;
    const type = original[change.address] ?? change.type;
    counts[type] = (counts[type] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

/** One line for the log: what the plan does and which AWS calls it made. */
export function planSummary(result: PlanResult): string {
  if (!result.ok) return `[${result.stack}] PLAN FAILED (${result.seconds} s)\n  ${result.problems.join("\n  ")}`;
  const created = Object.values(createdPerType(result)).reduce((sum, count) => sum + count, 0);
  const deferred = (result.plan?.resource_changes ?? []).filter((change) => change.mode === "data").length;
  const calls = new Map<string, number>();
  for (const { call } of result.calls) calls.set(call, (calls.get(call) ?? 0) + 1);
  const callList = [...calls].map(([call, count]) => `${call}${count > 1 ? ` x${count}` : ""}`).join(", ") || "none";
  return `[${result.stack}] plan: ${created} to create, nothing else (${deferred} data source(s) read at apply); AWS calls answered by the stub: ${callList} (${result.seconds} s)`;
}
