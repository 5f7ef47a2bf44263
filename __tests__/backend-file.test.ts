import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { loadBackendSettings, loadConfigAndBackend } from "../config/backend";
import { ConfigError } from "../config/resolve";

// backend.tf.json as read and checked, without synthesising a stack (backend.test.ts checks what the stack makes of it).
const EXAMPLE = join(__dirname, "..", "backend.tf.json.example");
const dir = mkdtempSync(join(tmpdir(), "k3s-backend-file-"));

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("files were accepted");
}

function backendFile(s3: Record<string, unknown>): string {
  const file = join(dir, `backend-${Object.keys(s3).join("-")}.json`);
  writeFileSync(file, JSON.stringify({ terraform: { backend: { s3 } } }));
  return file;
}

describe("backend file", () => {
  test("no file means local state", () => {
    expect(loadBackendSettings(join(dir, "absent.json"))).toBeUndefined();
  });

  test("a lock table, the S3 lock file or both are accepted, and encryption is on unless the file turns it off", () => {
    expect(loadBackendSettings(EXAMPLE)).toEqual({ bucket: "k3s-tfstate-123456789012-eu-west-1", key: "k3s/cluster.tfstate", region: "eu-west-1", dynamodb_table: "k3s-tfstate-lock", use_lockfile: true, encrypt: true });
    expect(loadBackendSettings(backendFile({ bucket: "b-1", key: "k", region: "eu-west-1", use_lockfile: true }))).toEqual({ bucket: "b-1", key: "k", region: "eu-west-1", use_lockfile: true, encrypt: true });
    expect(loadBackendSettings(backendFile({ bucket: "b-2", key: "k", region: "eu-west-1", dynamodb_table: "locks", encrypt: true }))).toEqual({ bucket: "b-2", key: "k", region: "eu-west-1", dynamodb_table: "locks", encrypt: true });
  });

  test.each([
    [{ bucket: "b-3", key: "k", region: "eu-west-1" }, "terraform.backend.s3 needs dynamodb_table, use_lockfile: true, or both; state without a lock is unsafe"],
    [{ bucket: "b-4", key: "k", region: "eu-west-1", use_lockfile: true, encrypt: false }, "terraform.backend.s3.encrypt must stay true; state holds secrets"],
    [{ bucket: "b-5", key: "k", region: "eu-west-1", use_lockfile: true, dynamo_table: "x" }, 'terraform.backend.s3: Unrecognized key: "dynamo_table"'],
  ])("a bad backend file is refused: %j", (s3, message) => {
    expect(() => loadBackendSettings(backendFile(s3))).toThrow(message);
  });

  test("a backend file with neither a lock nor encryption lists both problems", () => {
    const file = backendFile({ bucket: "b-6", key: "k", region: "eu-west-1", encrypt: false });
    expect(problemsOf(() => loadBackendSettings(file))).toEqual([
      `${file}: terraform.backend.s3 needs dynamodb_table, use_lockfile: true, or both; state without a lock is unsafe`,
      `${file}: terraform.backend.s3.encrypt must stay true; state holds secrets`,
    ]);
  });

  test("a backend file whose JSON is null is refused", () => {
    const file = join(dir, "backend-null.json");
    writeFileSync(file, "null");
    expect(problemsOf(() => loadBackendSettings(file))).toEqual([`${file}: (top level): Invalid input: expected object, received null`]);
  });
});

describe("config and backend files are checked together", () => {
  test("problems of both files are listed in one ConfigError", () => {
    const config = join(dir, "bad-config.json");
    writeFileSync(config, JSON.stringify({ agents: { minSize: 3, maxSize: 1 } }));
    const backend = backendFile({ bucket: "b-7", key: "k", region: "eu-west-1" });
    expect(problemsOf(() => loadConfigAndBackend({ K3S_AWS_CONFIG: config }, backend))).toEqual([
      "agents.minSize: (3) is greater than agents.maxSize (1)",
      `${backend}: terraform.backend.s3 needs dynamodb_table, use_lockfile: true, or both; state without a lock is unsafe`,
    ]);
  });

  test("a good config does not let a bad backend file through", () => {
    const backend = backendFile({ bucket: "b-8", key: "k", region: "eu-west-1", encrypt: false, use_lockfile: true });
    expect(problemsOf(() => loadConfigAndBackend({}, backend))).toEqual([`${backend}: terraform.backend.s3.encrypt must stay true; state holds secrets`]);
  });

  test("a backend file that is not JSON is named as the backend file", () => {
    const backend = join(dir, "backend-broken.json");
    writeFileSync(backend, "{ terraform: ");
    expect(problemsOf(() => loadBackendSettings(backend))).toEqual([expect.stringMatching(new RegExp(`^backend file ${backend}: is not valid JSON`))]);
  });

  test("good files give the config and the backend settings", () => {
    const { config, backend } = loadConfigAndBackend({}, EXAMPLE);
    expect(config.clusterName).toBe("k3s");
    expect(backend?.bucket).toBe("k3s-tfstate-123456789012-eu-west-1");
  });
});
