/**
 * `npm run kubeconfig -- --out <file>`: writes the admin kubeconfig the k3s servers publish to Secrets Manager
 * (templates/server.sh, "publish kubeconfig") to a file only you can read. The secret's ARN and region come from
 * `terraform output -json` in the cluster stack's directory, or from --secret-arn and --region.
 *
 *   --out <file>          where to write it (required); refused if it exists, unless --force
 *   --force               overwrite an existing file
 *   --secret-arn <arn>    the kubeconfig secret (default: the kubeconfig_secret_arn output)
 *   --region <region>     its region (default: the secret ARN's)
 *   --server <url>        the API URL to write (default: the api_endpoint output, else the secret's own)
 *   --stack-dir <dir>     where to run `terraform output -json` (default: cdktf.out/stacks/cluster)
 *
 * Problems end the command with one line and exit code 1, never a stack trace.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { spawnSync } from "child_process";
import { closeSync, constants, existsSync, fsyncSync, linkSync, lstatSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from "fs";
import { basename, dirname, join, resolve } from "path";
import { randomBytes } from "crypto";

const ROOT = resolve(__dirname, "..");

export interface KubeconfigOptions {
  readonly out: string;
  readonly force: boolean;
  readonly secretArn?: string;
  readonly region?: string;
  readonly server?: string;
  readonly stackDir: string;
}

/** A problem the user can act on: printed as one line. */
export class KubeconfigError extends Error {}

export function parseArguments(argv: string[]): KubeconfigOptions {
  const options: { out?: string; force: boolean; secretArn?: string; region?: string; server?: string; stackDir: string } = {
    force: false,
    stackDir: join(ROOT, "cdktf.out", "stacks", "cluster"),
  };
  const valued: Record<string, (value: string) => void> = {
    "--out": (value) => (options.out = value),
    "--secret-arn": (value) => (options.secretArn = value),
    "--region": (value) => (options.region = value),
    "--server": (value) => (options.server = value),
    "--stack-dir": (value) => (options.stackDir = value),
  };
  for (let index = 0; index < argv.length; index++) {
    const [flag, inline] = argv[index].split(/=(.*)/s, 2);
    if (flag === "--force") {
      options.force = true;
      continue;
    }
    const set = valued[flag];
    if (!set) throw new KubeconfigError(`unknown argument "${argv[index]}"; usage: npm run kubeconfig -- --out <file> [--force] [--secret-arn <arn>] [--region <region>] [--server <url>] [--stack-dir <dir>]`);
    const value = inline ?? argv[++index];
    if (value === undefined || value === "") throw new KubeconfigError(`${flag} needs a value`);
    set(value);
  }
  if (!options.out) throw new KubeconfigError("--out <file> is required: where to write the kubeconfig (for example ~/.kube/k3s.yaml)");
  if (options.server !== undefined && !/^https:\/\/[^\s/]+(:\d+)?\/?$/.test(options.server)) throw new KubeconfigError(`--server must be an https:// URL such as https://k3s.example.com:6443, got "${options.server}"`);
  return { ...options, out: options.out };
}

/** The outputs of the cluster stack, from `terraform output -json` in its directory. */
export function terraformOutputs(stackDir: string): Record<string, string> {
  // Without the directory spawnSync fails with "spawnSync terraform ENOENT", which reads as a missing terraform.
  if (!existsSync(stackDir)) throw new KubeconfigError(`no synthesised cluster stack at ${stackDir}: synth/deploy first (npx cdktf deploy cluster), or give --secret-arn and --region`);
  const result = spawnSync("terraform", ["output", "-json"], { cwd: stackDir, encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1" } });
  if (result.error && (result.error as NodeJS.ErrnoException).code === "ENOENT") throw new KubeconfigError("terraform is not on the PATH; install it, or give --secret-arn and --region");
  if (result.error || result.status !== 0) {
    const reason = result.error ? result.error.message : (result.stderr || result.stdout).trim().split("\n").find((line) => line.trim() !== "") ?? `exit code ${result.status}`;
    throw new KubeconfigError(`cannot read the cluster's outputs with "terraform output -json" in ${stackDir} (${reason}); deploy first, or give --secret-arn and --region`);
  }
  const outputs = JSON.parse(result.stdout || "{}") as Record<string, { value: unknown }>;
  return Object.fromEntries(Object.entries(outputs).map(([name, output]) => [name, String(output.value)]));
}

/** The region of a Secrets Manager ARN, arn:<partition>:secretsmanager:<region>:<account>:secret:<name>. */
export function regionOfArn(arn: string): string {
  const match = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:.+$/.exec(arn);
  if (!match) throw new KubeconfigError(`"${arn}" is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)`);
  return match[1];
}

/** The kubeconfig with every cluster's `server:` set to `server`. */
export function withServer(kubeconfig: string, server: string): string {
  // A function, not a replacement string, so "$&" or "$1" in the URL stay as written.
  return kubeconfig.replace(/^(\s*server:\s*).*$/gm, (_line, key: string) => `${key}${server}`);
}

/** What to tell the user about a failed GetSecretValue, in one line. */
export function describeFailure(error: unknown, secretArn: string): string {
  const name = (error as { name?: string })?.name ?? "";
  const message = (error as { message?: string })?.message ?? String(error);
  if (name === "ResourceNotFoundException") {
    // GetSecretValue answers this both for a secret with no AWSCURRENT version yet ("can't find the specified secret
    // value for staging label: AWSCURRENT") and for no secret at all ("can't find the specified secret.").
    if (/staging label:\s*AWSCURRENT/.test(message)) {
      return `the kubeconfig secret has no value yet (${secretArn}): the servers publish it once the Kubernetes API answers, a few minutes after the first apply; run this again shortly`;
    }
    return `secret not found: ${secretArn} (${message}); check --secret-arn, or the kubeconfig_secret_arn output and the region`;
  }
  if (name === "AccessDeniedException") {
    return `access denied reading ${secretArn}: your AWS identity needs secretsmanager:GetSecretValue on this secret (${message})`;
  }
  if (name === "CredentialsProviderError" || /Could not load credentials/i.test(message)) {
    return `no AWS credentials found: set AWS_PROFILE or sign in (aws sso login), then run this again (${message})`;
  }
  return `reading ${secretArn} failed: ${name ? `${name}: ` : ""}${message}`;
}

/** Refuses an `--out` that exists (unless `force`) or whose directory does not, before anything is fetched. */
export function checkOutputPath(path: string, force: boolean): void {
  const directory = dirname(path);
  if (!existsSync(directory) || !statSync(directory).isDirectory()) throw new KubeconfigError(`cannot write ${path}: the directory ${directory} does not exist`);
  if (!force && existsSync(path)) throw new KubeconfigError(`${path} already exists; choose another --out or add --force to overwrite it`);
}

/**
 * Writes `text` to `path` with mode 0600, atomically: a temporary file created exclusively (O_EXCL, mode 0600) in the
 * same directory, then moved into place, so no reader sees half a file and no other user a readable one. Without
 * `force` the move is a hard link, which fails rather than replace a file that appeared meanwhile. With `force` a
 * symbolic link (a ~/.kube/config kept in a dotfiles repository) stays one: the file it points to is replaced.
 */
export function writePrivateFile(path: string, text: string, force: boolean): void {
  const target = force && existsSync(path) && lstatSync(path).isSymbolicLink() ? realpathSync(path) : path;
  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const descriptor = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeFileSync(descriptor, text);
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    if (force) renameSync(temporary, target);
    else linkSync(temporary, target);
  } catch (error) {
    removeTemporary(temporary);
    if ((error as NodeJS.ErrnoException).code === "EEXIST" && !force) throw new KubeconfigError(`${path} already exists; choose another --out or add --force to overwrite it`);
    throw new KubeconfigError(`cannot write ${path}: ${(error as Error).message}`);
  }
  // The kubeconfig is in place; the temporary name is a second link to the same 0600 file, so failing to remove it
  // must not report the write as failed.
  if (!force) removeTemporary(temporary);
}

/** Removes the temporary file if it is there; a failure here must not hide the error being reported. */
function removeTemporary(temporary: string): void {
  try {
    if (existsSync(temporary)) unlinkSync(temporary);
  } catch (error) {
    process.stderr.write(`kubeconfig: could not remove the temporary file ${temporary}: ${(error as Error).message}\n`);
  }
}

export interface KubeconfigDependencies {
  /** A Secrets Manager client for a region; tests point it at a local endpoint. */
  readonly client?: (region: string) => SecretsManagerClient;
  readonly outputs?: (stackDir: string) => Record<string, string>;
  readonly log?: (line: string) => void;
}

/** Runs the command; returns the exit code. */
export async function run(argv: string[], dependencies: KubeconfigDependencies = {}): Promise<number> {
  const log = dependencies.log ?? ((line: string) => console.error(line));
  try {
    const options = parseArguments(argv);
    checkOutputPath(options.out, options.force);
    const outputs = options.secretArn && (options.server || options.region) ? {} : (dependencies.outputs ?? terraformOutputs)(options.stackDir);
    const secretArn = options.secretArn ?? outputs.kubeconfig_secret_arn;
    if (!secretArn) throw new KubeconfigError(`the cluster's outputs have no kubeconfig_secret_arn; give --secret-arn`);
    const region = options.region ?? regionOfArn(secretArn);
    const client = (dependencies.client ?? ((name: string) => new SecretsManagerClient({ region: name })))(region);
    let kubeconfig: string;
    try {
      const answer = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
      if (!answer.SecretString) throw new KubeconfigError(`the kubeconfig secret ${secretArn} holds no text; the servers write it as text, so it has been changed by hand`);
      kubeconfig = answer.SecretString;
    } catch (error) {
      if (error instanceof KubeconfigError) throw error;
      throw new KubeconfigError(describeFailure(error, secretArn));
    }
    const server = options.server ?? outputs.api_endpoint;
    writePrivateFile(options.out, server ? withServer(kubeconfig, server) : kubeconfig, options.force);
    log(`wrote ${options.out} (mode 0600)${server ? `, API at ${server}` : ""}; use it with: export KUBECONFIG=${options.out}`);
    return 0;
  } catch (error) {
    if (!(error instanceof KubeconfigError)) throw error;
    log(`kubeconfig: ${error.message}`);
    return 1;
  }
}

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(`kubeconfig: unexpected failure: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
