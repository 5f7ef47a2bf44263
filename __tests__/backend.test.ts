import { Testing } from "cdktf";
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { loadBackendSettings } from "../config/backend";
import { resolveConfig } from "../config/resolve";
import { StateBackendStack } from "../main";
import { referencedId, resourceNamed, synthCluster } from "./helpers";

const EXAMPLE = join(__dirname, "..", "backend.tf.json.example");
const dir = mkdtempSync(join(tmpdir(), "k3s-backend-"));

function backendFile(s3: Record<string, unknown>): string {
  const file = join(dir, `backend-${Object.keys(s3).join("-")}.json`);
  writeFileSync(file, JSON.stringify({ terraform: { backend: { s3 } } }));
  return file;
}

describe("cluster stack state", () => {
  // The backend does not depend on the zones; listing them keeps these tests off the zone data source's wiring.
  const cluster = { network: { availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"] } };

  test("without backend.tf.json state is local, at a path that is the same on every machine", () => {
    expect(loadBackendSettings(join(dir, "absent.json"))).toBeUndefined();
    expect(synthCluster(cluster).json.terraform.backend).toEqual({ local: { path: "../../../terraform.cluster.tfstate" } });
  });

  test("the example file gives an S3 backend with DynamoDB locking, the lock file and encryption", () => {
    const { json } = synthCluster(cluster, loadBackendSettings(EXAMPLE));
    expect(json.terraform.backend).toEqual({
      s3: {
        bucket: "k3s-tfstate-123456789012-eu-west-1",
        key: "k3s/cluster.tfstate",
        region: "eu-west-1",
        dynamodb_table: "k3s-tfstate-lock",
        use_lockfile: true,
        encrypt: true,
      },
    });
  });

  test("S3-native locking alone is accepted, and DynamoDB alone leaves use_lockfile out", () => {
    const lockfileOnly = synthCluster(cluster, loadBackendSettings(backendFile({ bucket: "b-1", key: "k", region: "eu-west-1", use_lockfile: true }))).json;
    expect(lockfileOnly.terraform.backend.s3).toEqual({ bucket: "b-1", key: "k", region: "eu-west-1", use_lockfile: true, encrypt: true });
    const dynamoOnly = synthCluster(cluster, loadBackendSettings(backendFile({ bucket: "b-2", key: "k", region: "eu-west-1", dynamodb_table: "locks" }))).json;
    expect(dynamoOnly.terraform.backend.s3).toEqual({ bucket: "b-2", key: "k", region: "eu-west-1", dynamodb_table: "locks", encrypt: true });
  });
});

describe("state backend bootstrap stack", () => {
  const synthesized = Testing.synth(new StateBackendStack(Testing.app(), "state-backend", resolveConfig({})));
  const json = JSON.parse(synthesized);

  test("bucket is versioned, KMS-encrypted, private and protected from destroy", () => {
    const bucket = resourceNamed(json, "aws_s3_bucket", "StateBackend_StateBucket");
    expect(bucket.bucket).toMatch(/^k3s-tfstate-\$\{data\.aws_caller_identity\.StateBackend_Account_[A-F0-9]+\.account_id\}-eu-west-1$/);
    expect(bucket.lifecycle).toEqual({ prevent_destroy: true });
    expect(synthesized).toHaveResourceWithProperties({ tfResourceType: "aws_s3_bucket_versioning" }, { versioning_configuration: { status: "Enabled" } });
    expect(synthesized).toHaveResourceWithProperties({ tfResourceType: "aws_s3_bucket_server_side_encryption_configuration" }, {
      rule: [expect.objectContaining({ apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms" } })],
    });
    expect(synthesized).toHaveResourceWithProperties({ tfResourceType: "aws_s3_bucket_public_access_block" }, {
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
  });

  test("bucket policy denies every request that is not TLS", () => {
    const document = Object.values(json.data.aws_iam_policy_document as Record<string, any>)[0];
    expect(document.statement).toEqual([
      expect.objectContaining({
        effect: "Deny",
        actions: ["s3:*"],
        principals: [{ type: "*", identifiers: ["*"] }],
        condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
      }),
    ]);
    const policy = resourceNamed(json, "aws_s3_bucket_policy", "StateBackend_StateBucketPolicy");
    expect(referencedId(policy.bucket)).toMatch(/^StateBackend_StateBucket_/);
    expect(policy.policy).toMatch(/^\$\{data\.aws_iam_policy_document\.StateBackend_StateBucketTlsOnly_[A-F0-9]+\.json\}$/);
  });

  test("lock table is keyed by LockID, on demand, with point-in-time recovery", () => {
    expect(resourceNamed(json, "aws_dynamodb_table", "StateBackend_LockTable")).toMatchObject({
      hash_key: "LockID",
      attribute: [{ name: "LockID", type: "S" }],
      billing_mode: "PAY_PER_REQUEST",
      point_in_time_recovery: { enabled: true },
      server_side_encryption: { enabled: true },
      deletion_protection_enabled: true,
    });
  });
});
