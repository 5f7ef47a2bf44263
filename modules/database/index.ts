import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DbInstance } from "@cdktf/provider-aws/lib/db-instance";
import { DbParameterGroup } from "@cdktf/provider-aws/lib/db-parameter-group";
import { DbSubnetGroup } from "@cdktf/provider-aws/lib/db-subnet-group";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { SecretsmanagerSecretVersion } from "@cdktf/provider-aws/lib/secretsmanager-secret-version";
import { Password } from "@cdktf/provider-random/lib/password";
import { Fn, ITerraformDependable, Token } from "cdktf";
import { Construct } from "constructs";
import { POSTGRES_PORT } from "../ports";

/**
 * PostgreSQL 15: the newest major version on k3s's certified datastore list (12-15, docs.k3s.io/datastore), and one RDS
 * supports well beyond 13 and 14, whose standard support ends first.
 */
export const POSTGRES_MAJOR_VERSION = "15";

/** Keys of the datastore secret's JSON, read by the servers' user data. */
export const DATASTORE_SECRET_KEYS = ["host", "port", "dbname", "username", "password"] as const;

export interface DatabaseProps {
  /** Prefix of the instance, subnet group, parameter group and secret names. */
  readonly clusterName: string;
  /** Private subnets, in at least two zones, that the instance may live in. */
  readonly subnetIds: string[];
  /** Security group admitting the database port from the k3s servers only. */
  readonly securityGroupId: string;
  /**
   * Instance class; k3s sizes its datastore at 1 vCPU / 2 GB for up to 10 nodes.
   * @default "db.t4g.small"
   */
  readonly instanceClass?: string;
  /** @default 20 */
  readonly allocatedStorageGb?: number;
  /** Ceiling for storage autoscaling. @default 100 */
  readonly maxAllocatedStorageGb?: number;
  /** @default 7 */
  readonly backupRetentionDays?: number;
  /** A standby in a second zone. @default false */
  readonly multiAz?: boolean;
  /** @default false */
  readonly performanceInsights?: boolean;
  /**
   * Deletion protection, a final snapshot on delete, and a recovery window for the secret.
   * Turn off only for throwaway (dev) clusters.
   * @default true
   */
  readonly protectData?: boolean;
}

/** RDS for PostgreSQL as k3s's external datastore, with its credentials in one Secrets Manager secret. */
export class Database extends Construct {
  /** ARN of the secret holding host, port, dbname, username and password as JSON. */
  public readonly secretArn: string;
  /** Host name of the instance. */
  public readonly endpoint: string;
  public readonly port: number;
  public readonly securityGroupId: string;
  /** IAM policy (JSON) that allows reading exactly the datastore secret. */
  public readonly readSecretPolicyJson: string;
  /** The instance and the secret's value: k3s servers read both at boot. */
  public readonly bootDependencies: ITerraformDependable[];

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const protectData = props.protectData ?? true;
    const allocated = props.allocatedStorageGb ?? 20;
    const maxAllocated = props.maxAllocatedStorageGb ?? 100;
    if (maxAllocated < allocated) {
      throw new Error(`Database: maxAllocatedStorageGb (${maxAllocated}) must not be below allocatedStorageGb (${allocated})`);
    }

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

    const instance = new DbInstance(this, "Instance", {
      identifier: `${props.clusterName}-datastore`,
      engine: "postgres",
      engineVersion: POSTGRES_MAJOR_VERSION,
      autoMinorVersionUpgrade: true,
      instanceClass: props.instanceClass ?? "db.t4g.small",
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
      multiAz: props.multiAz ?? false,
      backupRetentionPeriod: props.backupRetentionDays ?? 7,
      copyTagsToSnapshot: true,
      deletionProtection: protectData,
      skipFinalSnapshot: !protectData,
      finalSnapshotIdentifier: protectData ? `${props.clusterName}-datastore-final` : undefined,
      enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
      performanceInsightsEnabled: props.performanceInsights ?? false,
    });
    this.endpoint = instance.address;
    this.port = POSTGRES_PORT;
    this.securityGroupId = props.securityGroupId;

    const secret = new SecretsmanagerSecret(this, "Secret", {
      name: `${props.clusterName}/datastore`,
      description: "k3s datastore connection: host, port, dbname, username, password",
      recoveryWindowInDays: protectData ? 30 : 0,
    });
    const value: Record<(typeof DATASTORE_SECRET_KEYS)[number], string | number> = {
      host: instance.address,
      port: Token.asNumber(instance.port),
      dbname: instance.dbName,
      username: instance.username,
      password: password.result,
    };
    const secretValue = new SecretsmanagerSecretVersion(this, "SecretValue", { secretId: secret.id, secretString: Fn.jsonencode(value) });
    this.bootDependencies = [instance, secretValue];
    this.secretArn = secret.arn;

    this.readSecretPolicyJson = new DataAwsIamPolicyDocument(this, "ReadSecretPolicy", {
      statement: [{ sid: "ReadDatastoreSecret", actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], resources: [secret.arn] }],
    }).json;
  }
}
