import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DbInstance } from "@cdktf/provider-aws/lib/db-instance";
import { DbParameterGroup } from "@cdktf/provider-aws/lib/db-parameter-group";
import { DbSubnetGroup } from "@cdktf/provider-aws/lib/db-subnet-group";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { SecretsmanagerSecretVersion } from "@cdktf/provider-aws/lib/secretsmanager-secret-version";
import { Id } from "@cdktf/provider-random/lib/id";
import { Password } from "@cdktf/provider-random/lib/password";
import { Fn, ITerraformDependable, Token } from "cdktf";
import { Construct } from "constructs";
import { DatastoreDocumentKey } from "../contracts/secrets";
import { POSTGRES_PORT } from "../ports";

/**
 * PostgreSQL 15: the newest major version on k3s's certified datastore list (12-15, docs.k3s.io/datastore), and one RDS
 * supports well beyond 13 and 14, whose standard support ends first.
 */
export const POSTGRES_MAJOR_VERSION = "15";

/** Logs RDS for PostgreSQL publishes to CloudWatch Logs, each to `/aws/rds/instance/<identifier>/<log>`. */
export const DATABASE_LOG_EXPORTS = ["postgresql", "upgrade"] as const;

/** AWS partitions with an RDS trust store. */
export type Partition = "aws" | "aws-cn" | "aws-us-gov";

/**
 * The region's RDS CA bundle (intermediate and root certificates), from its partition's own trust store.
 * Hosts from "Using SSL/TLS to encrypt a connection to a DB instance or cluster", certificate bundles by region:
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html (commercial and AWS GovCloud (US))
 * and https://docs.amazonaws.cn/en_us/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html (China).
 */
export function rdsCaBundleUrl(region: string, partition: Partition): string {
  // The partition is config's, derived from the region (config/resolve.ts partitionOf).
  const trustStoreHost: Record<Partition, string> = {
    aws: "truststore.pki.rds.amazonaws.com",
    // Both GovCloud regions are served from the us-gov-west-1 host.
    "aws-us-gov": "truststore.pki.us-gov-west-1.rds.amazonaws.com",
    // Both China regions are served from one S3 bucket in cn-north-1.
    "aws-cn": "rds-truststore.s3.cn-north-1.amazonaws.com.cn",
  };
  return `https://${trustStoreHost[partition]}/${region}/${region}-bundle.pem`;
}

export interface DatabaseProps {
  /** Prefix of the instance, subnet group, parameter group and secret names. */
  readonly clusterName: string;
  /** Private subnets, in at least two zones, that the instance may live in. */
  readonly subnetIds: string[];
  /** Security group admitting the database port from the k3s servers only. */
  readonly securityGroupId: string;
  /** Instance class; k3s sizes its datastore at 1 vCPU / 2 GB for up to 10 nodes. */
  readonly instanceClass: string;
  readonly allocatedStorageGb: number;
  /** Ceiling for storage autoscaling. */
  readonly maxAllocatedStorageGb: number;
  readonly backupRetentionDays: number;
  /** A standby in a second zone. */
  readonly multiAz: boolean;
  readonly performanceInsights: boolean;
  /**
   * Deletion protection, Terraform's prevent_destroy, a final snapshot on delete, and a recovery window for the
   * secret. Turn off only for throwaway (dev) clusters.
   */
  readonly protectData: boolean;
  /** Retention of the PostgreSQL and upgrade log groups, in days (a CloudWatch Logs retention value). */
  readonly logRetentionDays: number;
}

/** RDS for PostgreSQL as k3s's external datastore, with its credentials in one Secrets Manager secret. */
export class Database extends Construct {
  /** ARN of the secret holding host, port, dbname, username and password as JSON. */
  public readonly secretArn: string;
  /** IAM policy (JSON) that allows reading exactly the datastore secret. */
  public readonly readSecretPolicyJson: string;
  /** The instance and the secret's value: k3s servers read both at boot. */
  public readonly bootDependencies: ITerraformDependable[];
  /** ARN of the instance, for AWS Backup's selection. */
  public readonly instanceArn: string;
  /** The instance's identifier: the DBInstanceIdentifier dimension of its AWS/RDS metrics. */
  public readonly instanceIdentifier: string;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const { protectData, allocatedStorageGb: allocated, maxAllocatedStorageGb: maxAllocated } = props;
    // config/schema.ts owns the rules these values obey: the cluster name keeps the RDS identifier valid, and storage
    // autoscaling's ceiling is at least 10 % above the allocation.
    const identifier = `${props.clusterName}-datastore`;

    const subnetGroup = new DbSubnetGroup(this, "SubnetGroup", {
      name: `${props.clusterName}-datastore`,
      subnetIds: props.subnetIds,
      description: `k3s datastore of ${props.clusterName}`,
    });

    const parameters = new DbParameterGroup(this, "ParameterGroup", {
      // A prefix, not a name: a family change creates the new group before the old one goes.
      namePrefix: `${props.clusterName}-datastore-pg${POSTGRES_MAJOR_VERSION}-`,
      family: `postgres${POSTGRES_MAJOR_VERSION}`,
      description: "k3s datastore: TLS required",
      parameter: [{ name: "rds.force_ssl", value: "1" }],
      lifecycle: { createBeforeDestroy: true },
    });

    // Only URL-unreserved characters, so the password can sit in a postgres:// URL without encoding.
    const password = new Password(this, "MasterPassword", { length: 40, special: true, overrideSpecial: "-_.~" });

    // Created before the instance, so RDS finds them instead of creating its own without retention.
    const logGroups = DATABASE_LOG_EXPORTS.map(
      (log) =>
        new CloudwatchLogGroup(this, `${log === "postgresql" ? "Postgresql" : "Upgrade"}LogGroup`, {
          name: `/aws/rds/instance/${identifier}/${log}`,
          retentionInDays: props.logRetentionDays,
        }),
    );

    // Kept in state, so a cluster rebuilt under the same name never reuses the final snapshot name of an earlier one.
    const snapshotSuffix = protectData ? new Id(this, "FinalSnapshotSuffix", { byteLength: 4 }) : undefined;

    const instance = new DbInstance(this, "Instance", {
      identifier,
      engine: "postgres",
      engineVersion: POSTGRES_MAJOR_VERSION,
      autoMinorVersionUpgrade: true,
      instanceClass: props.instanceClass,
      dbName: "k3s",
      username: "k3s",
      password: password.result,
      port: POSTGRES_PORT,
      dbSubnetGroupName: subnetGroup.name,
      vpcSecurityGroupIds: [props.securityGroupId],
      parameterGroupName: parameters.name,
      publiclyAccessible: false,
      caCertIdentifier: "rds-ca-rsa2048-g1",
      storageType: "gp3",
      storageEncrypted: true,
      allocatedStorage: allocated,
      maxAllocatedStorage: maxAllocated,
      multiAz: props.multiAz,
      backupRetentionPeriod: props.backupRetentionDays,
      copyTagsToSnapshot: true,
      deletionProtection: protectData,
      skipFinalSnapshot: !protectData,
      finalSnapshotIdentifier: snapshotSuffix ? `${identifier}-final-${snapshotSuffix.hex}` : undefined,
      enabledCloudwatchLogsExports: [...DATABASE_LOG_EXPORTS],
      performanceInsightsEnabled: props.performanceInsights,
      dependsOn: logGroups,
      lifecycle: { preventDestroy: protectData },
    });

    const secret = new SecretsmanagerSecret(this, "Secret", {
      // A prefix, not a name: a deleted secret keeps its name through the recovery window, which would block a
      // cluster rebuilt under the same name; Terraform appends a unique suffix.
      namePrefix: `${props.clusterName}/datastore-`,
      description: "k3s datastore connection: host, port, dbname, username, password",
      recoveryWindowInDays: protectData ? 30 : 0,
    });
    // The servers' user data reads these keys (modules/contracts/secrets.ts).
    const value: Record<DatastoreDocumentKey, string | number> = {
      host: instance.address,
      port: Token.asNumber(instance.port),
      dbname: instance.dbName,
      username: instance.username,
      password: password.result,
    };
    const secretValue = new SecretsmanagerSecretVersion(this, "SecretValue", { secretId: secret.id, secretString: Fn.jsonencode(value) });
    this.bootDependencies = [instance, secretValue];
    this.instanceArn = instance.arn;
    this.instanceIdentifier = instance.identifier;
    this.secretArn = secret.arn;

    this.readSecretPolicyJson = new DataAwsIamPolicyDocument(this, "ReadSecretPolicy", {
      statement: [{ sid: "ReadDatastoreSecret", actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], resources: [secret.arn] }],
    }).json;
  }
}
