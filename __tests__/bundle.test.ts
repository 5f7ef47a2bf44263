import { createHash } from "crypto";
import { spawnSync } from "child_process";
import { unzipSync } from "fflate";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { bundleLambda, LambdaName } from "../modules/automation/bundle";

const ROOT = join(__dirname, "..");
const ENVIRONMENTS: Record<LambdaName, Record<string, string>> = {
  "node-drainer": { AGENT_GROUP_NAME: "k3s-agents", ACCESS_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k3s/automation-access", TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:k3s-automation", HEARTBEAT_INTERVAL_SECONDS: "60", DRAIN_ATTEMPTS: "3" },
  autoscaler: {},
  "slack-forwarder": { CLUSTER_NAME: "k3s", SLACK_WEBHOOK_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k3s/slack-webhook-AbCdEf" },
};

/** Unpacks a bundle and runs a snippet against its handler in a fresh Node process, as Lambda would load it. */
function runInBundle(name: LambdaName, snippet: string, env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), `bundle-${name}-`));
  for (const [file, data] of Object.entries(unzipSync(readFileSync(bundleLambda(name).zipPath)))) writeFileSync(join(dir, file), data);
  return spawnSync(process.execPath, ["--enable-source-maps", "-e", snippet], {
    cwd: dir,
    encoding: "utf8",
    env: { PATH: process.env.PATH, AWS_REGION: "eu-west-1", AWS_ACCESS_KEY_ID: "unused", AWS_SECRET_ACCESS_KEY: "unused", ...env },
  });
}

describe.each<LambdaName>(["autoscaler", "node-drainer", "slack-forwarder"])("%s bundle", (name) => {
  test("is a zip of the minified handler and its source map, with a fixed timestamp", () => {
    const bundle = bundleLambda(name);
    const entries = unzipSync(readFileSync(bundle.zipPath));
    expect(Object.keys(entries).sort()).toEqual(["index.js", "index.js.map"]);
    const code = Buffer.from(entries["index.js"]).toString("utf8");
    expect(code.trimEnd().endsWith("//# sourceMappingURL=index.js.map")).toBe(true);
    expect(bundle.zipBytes).toBeLessThan(bundle.bundleBytes);
    // The first local file header's DOS time and date: 00:00:00 on 1980-01-01.
    expect([...readFileSync(bundle.zipPath).subarray(10, 14)]).toEqual([0x00, 0x00, 0x21, 0x00]);
  });

  test("builds byte-identical archives in separate builds", () => {
    const [first, second] = [0, 1].map(() => bundleLambda(name, mkdtempSync(join(tmpdir(), "bundle-"))));
    expect(readFileSync(first.zipPath).equals(readFileSync(second.zipPath))).toBe(true);
    expect(first.sourceCodeHash).toBe(second.sourceCodeHash);
  });

  test("loads in Node and exports the handler", () => {
    const result = runInBundle(name, "process.stdout.write(typeof require('./index.js').handler)", ENVIRONMENTS[name]);
    expect(result.stderr.replace(/\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*$/, "")).toBe("");
    expect(result.stdout).toBe("function");
  });
});

test("a later process reuses a build only while every file it was built from, and its zip, are unchanged", () => {
  const outdir = mkdtempSync(join(tmpdir(), "bundle-cache-"));
  // Each isolated registry is a new process as far as the bundler's in-memory cache goes.
  const inFreshProcess = () => {
    let bundle: ReturnType<typeof bundleLambda> | undefined;
    jest.isolateModules(() => {
      bundle = (require("../modules/automation/bundle") as typeof import("../modules/automation/bundle")).bundleLambda("node-drainer", outdir);
    });
    // Publishing renames a new file into place, so a rebuilt zip has a new inode.
    return { bundle: bundle!, inode: statSync(join(outdir, "node-drainer.zip")).ino };
  };
  const recordFile = join(outdir, "node-drainer.build.json");
  const first = inFreshProcess();
  const record = JSON.parse(readFileSync(recordFile, "utf8"));
  expect(Object.keys(record.inputs)).toEqual(expect.arrayContaining(["lambdas/node-drainer/handler.ts", "lambdas/shared/drain.ts", "lambdas/shared/access.ts"]));
  expect(Object.keys(record.inputs).some((input) => input.startsWith("node_modules/@aws-sdk/client-auto-scaling/"))).toBe(true);

  const reused = inFreshProcess();
  expect(reused).toEqual(first);

  // A file whose size or modification time is not the recorded one (touched, checked out again) but whose content is
  // the same: read and hashed, and the build is reused.
  writeFileSync(recordFile, JSON.stringify({ ...record, stats: { ...record.stats, "lambdas/shared/drain.ts": "0:0" } }));
  expect(inFreshProcess()).toEqual(first);

  // A source file the bundle was built from changed (neither its stat nor its hash is the recorded one): built again.
  writeFileSync(recordFile, JSON.stringify({ ...record, inputs: { ...record.inputs, "lambdas/shared/drain.ts": "0".repeat(64) }, stats: { ...record.stats, "lambdas/shared/drain.ts": "0:0" } }));
  const afterSourceChange = inFreshProcess();
  expect(afterSourceChange.inode).not.toBe(first.inode);
  expect(afterSourceChange.bundle.sourceCodeHash).toBe(first.bundle.sourceCodeHash);
  expect(JSON.parse(readFileSync(recordFile, "utf8")).inputs["lambdas/shared/drain.ts"]).toBe(record.inputs["lambdas/shared/drain.ts"]);

  // A zip that is not the one recorded (overwritten, truncated) is not trusted.
  writeFileSync(join(outdir, "node-drainer.zip"), "not the recorded zip");
  const afterZipChange = inFreshProcess();
  expect(afterZipChange.bundle.sourceCodeHash).toBe(first.bundle.sourceCodeHash);
  expect(createHash("sha256").update(readFileSync(join(outdir, "node-drainer.zip"))).digest("base64")).toBe(first.bundle.sourceCodeHash);
});

test("the bundled drainer acknowledges a malformed event without touching AWS or the cluster", () => {
  const result = runInBundle(
    "node-drainer",
    "require('./index.js').handler({ Records: [{ messageId: 'm1', body: '{oops' }] }, { getRemainingTimeInMillis: () => 60000 }).then((r) => console.log('RESULT ' + JSON.stringify(r)))",
    ENVIRONMENTS["node-drainer"],
  );
  const lines = result.stdout.trim().split("\n");
  expect(JSON.parse(lines[0])).toMatchObject({ level: "warn", message: "event skipped", messageId: "m1", reason: "message body is not JSON" });
  expect(lines[1]).toBe('RESULT {"batchItemFailures":[]}');
});

test("the bundled autoscaler names its missing configuration instead of crashing", () => {
  const result = runInBundle(
    "autoscaler",
    "require('./index.js').handler({}, { getRemainingTimeInMillis: () => 60000, awsRequestId: 'r1' }).catch((e) => console.log('REJECTED ' + e.message))",
    {},
  );
  const lines = result.stdout.trim().split("\n");
  expect(JSON.parse(lines[0])).toMatchObject({ level: "error", message: "function misconfigured", error: expect.stringContaining("CLUSTER_NAME: Invalid input") });
  expect(lines[1]).toBe("REJECTED autoscaler misconfigured; see the log line before this one");
});

test("two synth processes produce the same asset hashes and JSON", () => {
  const outdirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), "synth-")));
  for (const outdir of outdirs) {
    const result = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "main.ts")], { cwd: ROOT, encoding: "utf8", env: { ...process.env, CDKTF_OUTDIR: outdir } });
    expect(result.status).toBe(0);
  }
  const assets = outdirs.map((outdir) => readdirSync(join(outdir, "stacks", "cluster", "assets")).map((asset) => `${asset}/${readdirSync(join(outdir, "stacks", "cluster", "assets", asset))[0]}`));
  expect(assets[0]).toHaveLength(2);
  expect(assets[1]).toEqual(assets[0]);
  const json = outdirs.map((outdir) => readFileSync(join(outdir, "stacks", "cluster", "cdk.tf.json")));
  expect(json[1].equals(json[0])).toBe(true);
}, 60_000);

test("the bundled Slack forwarder skips an event that is not from SNS, reading no secret and calling no webhook", () => {
  const result = runInBundle(
    "slack-forwarder",
    "require('./index.js').handler({ Records: [{ body: 'an SQS message' }] }).then((r) => console.log('RESULT ' + JSON.stringify(r)))",
    ENVIRONMENTS["slack-forwarder"],
  );
  const lines = result.stdout.trim().split("\n");
  expect(JSON.parse(lines[0])).toMatchObject({ level: "warn", message: "record skipped: not an SNS notification", reason: "no Sns object" });
  expect(lines[1]).toBe('RESULT ["skipped"]');
});
