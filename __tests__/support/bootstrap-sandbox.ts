import { spawnSync } from "child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { dirname, join } from "path";
import { asDelivered } from "../helpers";

/**
 * Runs rendered user data under real bash as root in a user and mount namespace (`unshare`), with /etc, /var/lib and
 * /var/log as overlays over a temporary directory, so the script runs exactly as synthesised, writes its usual absolute paths and
 * leaves the host untouched. Stub commands (support/sandbox/bin) come first on PATH: curl, aws, k3s, sleep (instant),
 * systemctl and timeout; python3, sha256sum, mktemp and the rest are the real ones.
 */

const SUPPORT = join(__dirname, "sandbox");
const STUBS = join(SUPPORT, "bin");
/** The installer stub that the curl stub serves in place of k3s's install.sh unless a run serves other content. */
export const INSTALLER_STUB = readFileSync(join(SUPPORT, "install.sh"), "utf8");

export interface SandboxOptions {
  /** SecretString values by the secret's name in the sandbox (the logical ID of its Terraform resource). */
  readonly secrets: Record<string, string>;
  /** Instance metadata by path under latest/meta-data/. */
  readonly imds: Record<string, string>;
  /**
   * The first N calls of an operation fail: imds, imds-partial (a metadata read breaks after part of the value), ping, rds-ca, installer-download, install (the installer run),
   * readyz, timeout (the datastore port probe), put-secret-value, apply (k3s kubectl apply), set-instance-health, get-secret-value.<secret>
   * (which also makes a secret appear only after N reads).
   */
  readonly faults?: Record<string, number>;
  /** Content the curl stub serves as the k3s installer. @default INSTALLER_STUB */
  readonly installer?: string;
  /** The service-account token the server's k3s stub returns for the automation secret. */
  readonly automationToken?: string;
  /** Secrets the cluster already holds, by "<namespace>/<name>", as `kubectl get secret -o json` prints them. */
  readonly clusterSecrets?: Record<string, string>;
}

export interface SandboxRun {
  readonly status: number | null;
  /** What the script wrote to the console (stdout and stderr). */
  readonly console: string;
  /** /var/log/k3s-bootstrap.log as the script left it. */
  readonly log: string;
  /** Every stub call, name first, in order. */
  readonly calls: string[][];
  /** Secret values the script published, by secret name. */
  readonly published: Record<string, string>;
  /** Objects the script put to S3, by "bucket/key", with their content type. */
  readonly objects: Record<string, { readonly body: string; readonly contentType: string }>;
  /** What the script piped into `k3s kubectl apply -f -`, in order. */
  readonly applied: string[];
  /** A file the script wrote under /etc, /var/lib or /var/log, or undefined. */
  file(path: string): string | undefined;
  /** Permission bits of a file the script wrote. */
  mode(path: string): number;
  /** Calls of one stub, without the name. */
  callsOf(name: string): string[][];
}

/** Whether this machine can run the sandbox: unprivileged user namespaces with overlay mounts. */
export function sandboxSupport(): { available: boolean; reason: string } {
  const root = mkdtempSync(join(tmpdir(), "k3s-sandbox-probe-"));
  try {
    mkdirSync(join(root, "upper"));
    mkdirSync(join(root, "work"));
    const probe = spawnSync("unshare", ["--user", "--map-root-user", "--mount", "sh", "-c", `mount -t overlay overlay -o lowerdir=/etc,upperdir=${root}/upper,workdir=${root}/work /etc`], { encoding: "utf8" });
    if (probe.error) return { available: false, reason: `unshare cannot run: ${probe.error.message}` };
    return { available: probe.status === 0, reason: probe.stderr.trim() || "" };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * What an instance receives from a Terraform string, with every reference replaced by a value the stubs can tell
 * apart: a secret's ARN ends in its resource's logical ID (the secret's name in the sandbox), other attributes become
 * "example-<attribute>".
 */
export function deliveredForSandbox(terraformString: string, region: string): string {
  return asDelivered(terraformString, (reference) => {
    const [type, logicalId, attribute] = reference.split(".");
    const name = logicalId.replace(/_[A-F0-9]{8}$/, "");
    if (type === "aws_secretsmanager_secret" && attribute === "arn") return `arn:aws:secretsmanager:${region}:111122223333:secret:${name}`;
    return `example-${attribute}`;
  });
}

export function runBootstrap(script: string, options: SandboxOptions): SandboxRun {
  const root = mkdtempSync(join(tmpdir(), "k3s-sandbox-"));
  if (/^\/(etc|var\/lib|var\/log)\//.test(root)) throw new Error(`sandbox: ${root} lies under a directory the sandbox overlays; set TMPDIR elsewhere`);
  const state = join(root, "state");
  const write = (path: string, content: string) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  };
  for (const [name, value] of Object.entries(options.secrets)) write(join(state, "secrets", name), value);
  for (const [path, value] of Object.entries(options.imds)) write(join(state, "imds", path), value);
  for (const [key, count] of Object.entries(options.faults ?? {})) write(join(state, "faults", key), String(count));
  for (const [key, json] of Object.entries(options.clusterSecrets ?? {})) write(join(state, "cluster-secrets", `${key.replace("/", ".")}.json`), json);
  mkdirSync(join(state, "counts"), { recursive: true });
  write(join(state, "files", "install.sh"), options.installer ?? INSTALLER_STUB);
  write(join(state, "files", "rds-ca.pem"), "-----BEGIN CERTIFICATE-----\nsandbox RDS CA\n-----END CERTIFICATE-----\n");
  write(join(state, "files", "cluster-ca.crt"), "-----BEGIN CERTIFICATE-----\nsandbox cluster CA\n-----END CERTIFICATE-----\n");
  write(join(state, "files", "automation-token"), options.automationToken ?? "automation-token-0123");
  write(join(state, "files", "k3s.yaml"), "apiVersion: v1\nclusters:\n- cluster:\n    server: https://127.0.0.1:6443\n  name: default\n");
  write(join(state, "real-timeout"), which("timeout"));
  write(join(state, "calls.log"), "");
  mkdirSync(join(root, "tmp"));
  const scriptPath = join(root, "user-data.sh");
  writeFileSync(scriptPath, script);
  chmodSync(scriptPath, 0o700);

  const result = spawnSync("unshare", ["--user", "--map-root-user", "--mount", join(SUPPORT, "enter.sh"), root, scriptPath], {
    encoding: "utf8",
    env: { ...process.env, PATH: [STUBS, pythonDirectory(), process.env.PATH].join(":"), SANDBOX_STATE: state, TMPDIR: join(root, "tmp") },
    timeout: 60_000,
  });
  if (result.error) throw result.error;

  const files = snapshot(join(root, "upper"));
  const calls = readFileSync(join(state, "calls.log"), "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.split("\t").map(unescapeField));
  const publishedDir = join(state, "published");
  const published = Object.fromEntries((existsSync(publishedDir) ? readdirSync(publishedDir) : []).map((name) => [name, readFileSync(join(publishedDir, name), "utf8")]));
  const objectsDir = join(state, "objects");
  const objects = Object.fromEntries(
    (existsSync(objectsDir) ? (readdirSync(objectsDir, { recursive: true }) as string[]) : [])
      .filter((path) => !path.endsWith(".content-type") && existsSync(join(objectsDir, `${path}.content-type`)))
      .map((path) => [path, { body: readFileSync(join(objectsDir, path), "utf8"), contentType: readFileSync(join(objectsDir, `${path}.content-type`), "utf8").trim() }]),
  );
  const appliedDir = join(state, "applied");
  const applied = (existsSync(appliedDir) ? readdirSync(appliedDir).sort() : []).map((name) => readFileSync(join(appliedDir, name), "utf8"));
  rmSync(root, { recursive: true, force: true });
  return {
    status: result.status,
    console: result.stdout + result.stderr,
    log: files.get("var/log/k3s-bootstrap.log")?.content ?? "",
    calls,
    published,
    objects,
    applied,
    file: (path) => files.get(path.replace(/^\//, ""))?.content,
    mode: (path) => {
      const file = files.get(path.replace(/^\//, ""));
      if (!file) throw new Error(`sandbox: the script wrote no ${path}`);
      return file.mode;
    },
    callsOf: (name) => calls.filter((call) => call[0] === name).map((call) => call.slice(1)),
  };
}

/** Every regular file under `dir`, by path relative to it, with its permission bits. */
function snapshot(dir: string, prefix = "", files = new Map<string, { content: string; mode: number }>()) {
  for (const entry of existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : []) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) snapshot(path, `${prefix}${entry.name}/`, files);
    else if (entry.isFile()) files.set(`${prefix}${entry.name}`, { content: readFileSync(path, "utf8"), mode: statSync(path).mode & 0o777 });
  }
  return files;
}

let python: string | undefined;
/** The real python3's directory, to go right after the stubs: a version manager's shim costs processes per call. */
function pythonDirectory(): string {
  python ??= spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).stdout.trim();
  return dirname(python);
}

function which(command: string): string {
  const found = spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).stdout.trim();
  if (!found) throw new Error(`sandbox: ${command} is not installed`);
  return found;
}

function unescapeField(field: string): string {
  return field.replace(/\\(\\|t|n)/g, (_, escaped: string) => (escaped === "t" ? "\t" : escaped === "n" ? "\n" : "\\"));
}
