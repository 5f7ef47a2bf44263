import { spawn } from "child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { load } from "js-yaml";
import { tmpdir } from "os";
import { join } from "path";
import { loadBackendSettings } from "../config/backend";

// The commands the README and the example CI workflow tell users to type are checked against what they run: the
// npm scripts exist, the cdktf commands name stacks that the real cdktf CLI synthesises, and each script runs
// terraform in the stack it names (with a stub terraform that records its calls, so nothing reaches AWS).

const ROOT = join(__dirname, "..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const SCRIPTS: Record<string, string> = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts;
/** cdktf's telemetry post (@cdktf/commons checkpoint.js) and its npm version check (cdktf-cli `DISABLE_VERSION_CHECK`). */
const CHECKPOINT_OFF = ["CHECKPOINT_DISABLE=1", "DISABLE_VERSION_CHECK=1"];
/** cdktf verbs that act on stacks; `apply` and `plan` are cdktf's aliases of deploy and diff. */
const STACK_VERBS = ["deploy", "apply", "diff", "plan", "destroy"];

interface Run {
  readonly code: number | null;
  readonly output: string;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/**
 * The environment of a newcomer's shell: without the checkpoint variables (the scripts must set them), and without a
 * TF_CLI_CONFIG_FILE that names a missing file (terraform then warns about its CLI configuration, which cdktf
 * prints as an [ERROR] line; that is the machine's setting, not the project's).
 */
function newcomerEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.CHECKPOINT_DISABLE;
  delete env.DISABLE_VERSION_CHECK;
  if (env.TF_CLI_CONFIG_FILE && !existsSync(env.TF_CLI_CONFIG_FILE)) delete env.TF_CLI_CONFIG_FILE;
  return env;
}

/** Shell text the README shows: each line of a fenced block, and each inline code span outside them. */
function readmeCode(markdown: string): string[] {
  const snippets: string[] = [];
  const prose = markdown.replace(/^```[^\n]*\n([\s\S]*?)^```$/gm, (_block, body: string) => {
    snippets.push(...body.split("\n"));
    return "";
  });
  for (const span of prose.matchAll(/`([^`\n]+)`/g)) snippets.push(span[1]);
  return snippets;
}

interface CdktfCommand {
  readonly text: string;
  readonly verb: string;
  /** Positional arguments: the stacks (or stack patterns) named. */
  readonly stacks: string[];
}

function cdktfCommands(snippets: string[]): CdktfCommand[] {
  const pattern = new RegExp(`(?:^|[\\s(])cdktf (${STACK_VERBS.join("|")})(?=$|\\s)([^;&|)#]*)`, "g");
  return snippets.flatMap((snippet) =>
    [...snippet.matchAll(pattern)].map((match) => ({
      text: match[0].trim(),
      verb: match[1],
      stacks: match[2].trim().split(/\s+/).filter((token) => token !== "" && !token.startsWith("-")),
    })),
  );
}

/** The command segments of an npm script that start the cdktf CLI, as [environment assignments, cdktf arguments]. */
function cdktfInvocations(script: string): [string[], string[]][] {
  return script.split(/&&|\|\||;/).flatMap((segment) => {
    const words = segment.trim().split(/\s+/);
    const firstCommandWord = words.findIndex((word) => !/^[A-Z_][A-Z0-9_]*=/.test(word));
    const assignments = words.slice(0, firstCommandWord);
    const command = words.slice(firstCommandWord);
    if (command[0] === "npx") command.shift();
    return command[0] === "cdktf" ? [[assignments, command.slice(1)] as [string[], string[]]] : [];
  });
}

const cdktfScripts = Object.entries(SCRIPTS).filter(([, script]) => cdktfInvocations(script).length > 0);

/** A terraform that records each call and answers like one that has nothing to change. */
const STUB_TERRAFORM = `#!/usr/bin/env node
const { appendFileSync } = require("fs");
const args = process.argv.slice(2);
appendFileSync(process.env.STUB_TERRAFORM_LOG, JSON.stringify({ cwd: process.cwd(), args }) + "\\n");
if (args[0] === "version") process.stdout.write(JSON.stringify({ terraform_version: "1.11.4", platform: "linux_amd64", provider_selections: {}, terraform_outdated: false }));
if (args[0] === "-v") process.stdout.write("Terraform v1.11.4\\n");
if (args[0] === "output") process.stdout.write("{}");
`;

interface TerraformCall {
  readonly cwd: string;
  readonly args: string[];
}

const work = mkdtempSync(join(tmpdir(), "k3s-readme-commands-"));
const outdir = join(work, "cdktf.out");
let synth: Run;
let stacks: string[];

beforeAll(async () => {
  // `npm run synth` as a newcomer types it (into a scratch output directory): the real cdktf CLI lists the stacks.
  synth = await run("npm", ["run", "synth", "--", "--output", outdir], newcomerEnv());
  if (synth.code !== 0) throw new Error(`npm run synth failed:\n${synth.output}`);
  stacks = Object.keys(JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8")).stacks).sort();
}, 180_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the README's commands", () => {
  const snippets = readmeCode(README);

  test("npm run synth prints no [ERROR] line (cdktf's telemetry and version check are off offline)", () => {
    expect(stacks).toEqual(["cluster", "state-backend"]);
    expect(synth.output.split("\n").filter((line) => line.includes("[ERROR]"))).toEqual([]);
  });

  test("every `npm run <script>` names a script in package.json", () => {
    const named = snippets.flatMap((snippet) => [...snippet.matchAll(/npm run ([A-Za-z0-9:_-]+)/g)].map((match) => match[1]));
    expect(named).toEqual(expect.arrayContaining(["synth", "deploy:state-backend", "deploy", "diff", "destroy", "validate"]));
    expect(named.filter((name) => !(name in SCRIPTS))).toEqual([]);
  });

  test("every cdktf deploy, diff or destroy names stacks the app synthesises (cdktf refuses to guess between two)", () => {
    const commands = cdktfCommands([...snippets, ...cdktfScripts.map(([, script]) => script)]);
    expect(commands.length).toBeGreaterThan(0);
    const problems = commands.flatMap((command) => {
      if (command.stacks.length === 0) return [`${command.text}: names no stack`];
      if (["diff", "plan"].includes(command.verb) && command.stacks.length > 1) return [`${command.text}: diff takes one stack`];
      return command.stacks.filter((stack) => !stacks.includes(stack)).map((stack) => `${command.text}: no stack "${stack}" (stacks: ${stacks.join(", ")})`);
    });
    expect(problems).toEqual([]);
  });

  test("every npm script that starts the cdktf CLI turns off its telemetry and version check", () => {
    expect(cdktfScripts.map(([name]) => name).sort()).toEqual(["deploy", "deploy:state-backend", "destroy", "diff", "diff:state-backend", "synth"]);
    for (const [name, script] of cdktfScripts) {
      for (const [assignments] of cdktfInvocations(script)) expect({ name, assignments }).toEqual({ name, assignments: expect.arrayContaining(CHECKPOINT_OFF) });
    }
  });

  test("the README's table of scripts shows the cdktf command each one runs", () => {
    const rows = README.split("\n").flatMap((line) => {
      const match = /^\| `npm run ([^`]+)` \| `(cdktf [^`]+)` \|/.exec(line);
      return match ? [[match[1], match[2]] as const] : [];
    });
    expect(rows.map(([name]) => name).sort()).toEqual(cdktfScripts.map(([name]) => name).sort());
    for (const [name, shown] of rows) expect({ name, runs: SCRIPTS[name] }).toEqual({ name, runs: `${CHECKPOINT_OFF.join(" ")} ${shown}` });
  });

  test("the deploy steps apply the backend stack before the cluster", () => {
    const steps = /## Deploying\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(README);
    expect(steps).not.toBeNull();
    const commands = steps![1].split("\n").map((line) => line.replace(/#.*/, "").trim()).filter((line) => line.startsWith("npm run"));
    expect(commands.indexOf("npm run deploy:state-backend")).toBeGreaterThanOrEqual(0);
    expect(commands.indexOf("npm run deploy:state-backend")).toBeLessThan(commands.indexOf("npm run deploy"));
  });
});

describe("what the deploy, diff and destroy scripts run", () => {
  const stub = join(work, "terraform");
  writeFileSync(stub, STUB_TERRAFORM);
  chmodSync(stub, 0o755);

  /** Runs `npm run <script> -- <args>` on the synthesised stacks with the stub terraform; its calls, in order. */
  async function terraformCalls(name: string, args: string[]): Promise<{ run: Run; calls: TerraformCall[] }> {
    const log = join(work, `${name.replace(/\W/g, "-")}.calls`);
    writeFileSync(log, "");
    const env = newcomerEnv({ TERRAFORM_BINARY_NAME: stub, STUB_TERRAFORM_LOG: log });
    const result = await run("npm", ["run", name, "--", ...args, "--skip-synth", "--output", outdir], env);
    const calls = readFileSync(log, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as TerraformCall);
    return { run: result, calls: calls.filter((call) => call.cwd !== ROOT) };
  }

  // From the issue: the backend stack is deployed on its own, then the cluster; diff and destroy act on the cluster.
  const expected: [script: string, extraArgs: string[], stack: string, terraformCommand: string][] = [
    ["deploy:state-backend", ["--auto-approve"], "state-backend", "apply -auto-approve"],
    ["diff:state-backend", [], "state-backend", "plan -input=false -out plan"],
    ["deploy", ["--auto-approve"], "cluster", "apply -auto-approve"],
    ["diff", [], "cluster", "plan -input=false -out plan"],
    ["destroy", ["--auto-approve"], "cluster", "destroy -auto-approve"],
  ];

  test("each script runs terraform in the one stack it names, and nowhere else", async () => {
    const results = await Promise.all(expected.map(([name, args]) => terraformCalls(name, args)));
    expected.forEach(([name, , stack, command], index) => {
      const { run: result, calls } = results[index];
      expect({ name, code: result.code, output: result.code === 0 ? "" : result.output }).toEqual({ name, code: 0, output: "" });
      expect({ name, dirs: [...new Set(calls.map((call) => call.cwd))] }).toEqual({ name, dirs: [join(outdir, "stacks", stack)] });
      expect({ name, commands: calls.map((call) => call.args.join(" ")) }).toEqual({ name, commands: expect.arrayContaining(["init", command]) });
      expect(result.output.split("\n").filter((line) => line.includes("[ERROR]"))).toEqual([]);
    });
  }, 180_000);

  test("cdktf diff without a stack stops with cdktf's 'more than one stack' error (why the scripts name one)", async () => {
    const env = { ...newcomerEnv({ TERRAFORM_BINARY_NAME: stub, STUB_TERRAFORM_LOG: join(work, "bare-diff.calls") }), CHECKPOINT_DISABLE: "1", DISABLE_VERSION_CHECK: "1" };
    const result = await run("npx", ["cdktf", "diff", "--skip-synth", "--output", outdir], env);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain("Found more than one stack, please specify a target stack");
  }, 120_000);
});

describe("the example CI workflow", () => {
  type Step = { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; "working-directory"?: string };
  type Job = { steps: Step[]; permissions?: Record<string, string>; env?: Record<string, string>; needs?: string };
  const workflow = load(readFileSync(join(ROOT, "examples/ci/github-actions-plan.yml"), "utf8")) as { jobs: Record<string, Job> };
  const { checks, plan } = workflow.jobs;
  const describeStep = (step: Step) => step.uses ?? step.run ?? "";
  const indexOf = (job: Job, predicate: (step: Step) => boolean, what: string) => {
    const index = job.steps.findIndex(predicate);
    if (index < 0) throw new Error(`no step ${what} in ${job.steps.map(describeStep).join(" | ")}`);
    return index;
  };
  const uses = (action: string) => (step: Step) => step.uses?.split("@")[0] === action;
  const runs = (pattern: RegExp) => (step: Step) => pattern.test(step.run ?? "");

  test("the plan job installs, synthesises, then inits, validates, plans and posts the plan, in that order", () => {
    const order = [
      indexOf(plan, uses("actions/checkout"), "checkout"),
      indexOf(plan, uses("actions/setup-node"), "setup-node"),
      indexOf(plan, runs(/^npm ci$/), "npm ci"),
      indexOf(plan, uses("hashicorp/setup-terraform"), "setup-terraform"),
      indexOf(plan, uses("aws-actions/configure-aws-credentials"), "AWS credentials"),
      indexOf(plan, runs(/backend\.tf\.json/), "backend.tf.json"),
      indexOf(plan, runs(/^npm run synth$/), "synth"),
      indexOf(plan, runs(/^terraform init\b/), "init"),
      indexOf(plan, runs(/^terraform validate\b/), "validate"),
      indexOf(plan, runs(/^terraform plan\b.*-out=tfplan/), "plan -out"),
      indexOf(plan, runs(/terraform show -no-color tfplan/), "show"),
      indexOf(plan, uses("actions/github-script"), "comment"),
    ];
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(plan.needs).toBe("checks");
    expect(indexOf(checks, runs(/^npm test$/), "npm test")).toBeGreaterThan(indexOf(checks, runs(/^npm ci$/), "npm ci"));
  });

  test("terraform runs in a stack directory the synth writes, on the Terraform version the project supports", () => {
    const stackDir = plan.env?.STACK_DIR ?? "";
    expect(stackDir).toMatch(/^cdktf\.out\/stacks\//);
    expect(stacks).toContain(stackDir.slice("cdktf.out/stacks/".length));
    for (const step of plan.steps.filter((step) => /^terraform /.test(step.run ?? ""))) expect(step["working-directory"]).toBe("${{ env.STACK_DIR }}");
    for (const job of [checks, plan]) {
      const setup = job.steps.find(uses("hashicorp/setup-terraform"));
      expect(String(setup?.with?.terraform_version)).toMatch(/^1\.(1[1-9]|[2-9]\d)\./); // README: terraform >= 1.11
      expect(setup?.with?.terraform_wrapper).toBe(false);
    }
  });

  test("every npm script it runs exists", () => {
    const named = Object.values(workflow.jobs).flatMap((job) => job.steps.flatMap((step) => [...(step.run ?? "").matchAll(/npm run ([A-Za-z0-9:_-]+)/g)].map((m) => m[1])));
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((name) => !(name in SCRIPTS))).toEqual([]);
  });

  test("AWS access is a role assumed through GitHub's OIDC token, with no long-lived keys", () => {
    const credentials = plan.steps.find(uses("aws-actions/configure-aws-credentials"))!;
    expect(Object.keys(credentials.with ?? {}).sort()).toEqual(["aws-region", "role-to-assume"]);
    expect(plan.permissions).toEqual({ contents: "read", "id-token": "write", "pull-requests": "write" });
    expect(JSON.stringify(workflow)).not.toMatch(/aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY/);
  });

  test("the backend.tf.json it writes passes the project's own backend checks", async () => {
    const step = plan.steps.find(runs(/backend\.tf\.json/))!;
    const dir = mkdtempSync(join(work, "backend-"));
    const env = { ...process.env, STATE_BUCKET: "k3s-tfstate-123456789012-eu-west-1", STATE_KEY: "k3s/prod/cluster.tfstate", STATE_REGION: "eu-west-1" };
    const result = await new Promise<Run>((resolve, reject) => {
      const child = spawn("bash", ["-euo", "pipefail", "-c", step.run!], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (chunk) => (output += chunk));
      child.stderr.on("data", (chunk) => (output += chunk));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, output }));
    });
    expect(result).toEqual({ code: 0, output: "" });
    expect(loadBackendSettings(join(dir, "backend.tf.json"))).toEqual({
      bucket: "k3s-tfstate-123456789012-eu-west-1",
      key: "k3s/prod/cluster.tfstate",
      region: "eu-west-1",
      use_lockfile: true,
      encrypt: true,
    });
  });

  describe("the pull-request comment", () => {
    const script = String(plan.steps.find(uses("actions/github-script"))!.with!.script);

    /** Runs the step's script as actions/github-script does: an async function of github, context and require. */
    async function comment(planText: string, planJson: object): Promise<{ owner: string; repo: string; issue_number: number; body: string }> {
      const dir = mkdtempSync(join(work, "comment-"));
      writeFileSync(join(dir, "plan.txt"), planText);
      writeFileSync(join(dir, "plan.json"), JSON.stringify(planJson));
      const posted: any[] = [];
      const github = { rest: { issues: { createComment: async (request: unknown) => posted.push(request) } } };
      const context = { repo: { owner: "acme", repo: "k3s" }, issue: { number: 42 } };
      const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor;
      const saved = { STACK_DIR: process.env.STACK_DIR, K3S_AWS_CONFIG: process.env.K3S_AWS_CONFIG };
      Object.assign(process.env, { STACK_DIR: dir, K3S_AWS_CONFIG: "config/prod.json" });
      try {
        await new AsyncFunction("github", "context", "require", script)(github, context, require);
      } finally {
        for (const [key, value] of Object.entries(saved)) value === undefined ? delete process.env[key] : (process.env[key] = value);
      }
      expect(posted).toHaveLength(1);
      return posted[0];
    }

    // Plan JSON as Terraform documents it ("JSON Output Format": resource_changes[].change.actions; a replacement is
    // ["delete", "create"], or ["create", "delete"] under create_before_destroy).
    const replaceDatabase = {
      resource_changes: [
        { address: "aws_db_instance.Database_Instance_02E622FB", change: { actions: ["delete", "create"] } },
        { address: "aws_launch_template.Compute_Servers_LaunchTemplate_261297F3", change: { actions: ["update"] } },
        { address: "data.aws_ami.Compute_Image_1", change: { actions: ["read"] } },
      ],
    };

    test("leads with the plan's summary and the resources it destroys or replaces", async () => {
      const posted = await comment("Terraform will perform the following actions:\n\nPlan: 1 to add, 1 to change, 1 to destroy.\n", replaceDatabase);
      expect(posted).toMatchObject({ owner: "acme", repo: "k3s", issue_number: 42 });
      expect(posted.body).toContain("Plan: 1 to add, 1 to change, 1 to destroy.");
      expect(posted.body).toContain("**Destroyed or replaced (1):**\n- `aws_db_instance.Database_Instance_02E622FB`: delete, create");
      expect(posted.body).not.toContain("Compute_Servers_LaunchTemplate");
    });

    test("a plan longer than GitHub's 65,536-character comment limit is cut, and says so", async () => {
      const long = `${"  # aws_subnet.Networking_PrivateSubnet will be created\n".repeat(3000)}Plan: 240 to add, 0 to change, 0 to destroy.\n`;
      const posted = await comment(long, { resource_changes: [] });
      expect(posted.body.length).toBeLessThanOrEqual(65536);
      expect(posted.body).toContain("Plan: 240 to add, 0 to change, 0 to destroy.");
      expect(posted.body).toContain("Nothing is destroyed or replaced.");
      expect(posted.body).toContain("(truncated: see the run's plan artifact)");
    });
  });
});
