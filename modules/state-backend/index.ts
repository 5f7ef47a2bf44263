import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { Construct } from "constructs";
import { denyInsecureTransport } from "../policy-statements";

export interface StateBackendProps {
  /** Prefix of the bucket and table names. */
  readonly clusterName: string;
  /** Region of the bucket; part of its globally unique name. */
  readonly region: string;
}

/**
 * What Terraform's S3 backend needs: a versioned, encrypted, private, TLS-only bucket and a DynamoDB lock table.
 * Both are protected from `terraform destroy`: losing them loses the cluster's state.
 */
export class StateBackend extends Construct {
  public readonly bucketName: string;
  public readonly lockTableName: string;

  constructor(scope: Construct, id: string, props: StateBackendProps) {
    super(scope, id);
    const account = new DataAwsCallerIdentity(this, "Account");

    // Account and region in the name keep this globally unique bucket name predictable for backend.tf.json.
    const bucket = new S3Bucket(this, "StateBucket", {
      bucket: `${props.clusterName}-tfstate-${account.accountId}-${props.region}`,
      forceDestroy: false,
      lifecycle: { preventDestroy: true },
    });
    this.bucketName = bucket.bucket;

    new S3BucketVersioningA(this, "StateBucketVersioning", { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } });
    new S3BucketServerSideEncryptionConfigurationA(this, "StateBucketEncryption", {
      bucket: bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }],
    });
    new S3BucketPublicAccessBlock(this, "StateBucketPublicAccessBlock", {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, "StateBucketOwnership", { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } });
    const tlsOnly = new DataAwsIamPolicyDocument(this, "StateBucketTlsOnly", {
      statement: [
        denyInsecureTransport(["s3:*"], [bucket.arn, `${bucket.arn}/*`]),
      ],
    });
    new S3BucketPolicy(this, "StateBucketPolicy", { bucket: bucket.id, policy: tlsOnly.json });

    const lockTable = new DynamodbTable(this, "LockTable", {
      name: `${props.clusterName}-tfstate-lock`,
      billingMode: "PAY_PER_REQUEST",
      // Terraform's S3 backend writes its lock items under this exact key name and type.
      hashKey: "LockID",
      attribute: [{ name: "LockID", type: "S" }],
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true },
      deletionProtectionEnabled: true,
      lifecycle: { preventDestroy: true },
    });
    this.lockTableName = lockTable.name;
  }
}
