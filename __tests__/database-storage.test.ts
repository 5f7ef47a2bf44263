import { Testing } from "cdktf";
import { DATASTORE_DOCUMENT_KEYS } from "../modules/contracts/secrets";
import { rdsCaBundleUrl } from "../modules/database";
import { Storage } from "../modules/storage";
import { jsonencodedObject, logicalIdOf, referencedId, resourceNamed, resourcesOf, synthCluster, TerraformJson } from "./helpers";

const PRIVATE_SUBNETS = ["A", "B", "C"];

function privateSubnetRefs(json: TerraformJson): string[] {
  return PRIVATE_SUBNETS.map((zone) => `\${aws_subnet.${logicalIdOf(json, "aws_subnet", `Networking_PrivateSubnet${zone}`)}.id}`);
}

function policyStatements(json: TerraformJson, prefix: string): any[] {
  const match = Object.entries(json.data?.aws_iam_policy_document ?? {}).find(([id]) => id.startsWith(`${prefix}_`));
  if (!match) throw new Error(`no policy document ${prefix}`);
  return match[1].statement;
}

describe("database", () => {
  const { json, synthesized } = synthCluster();
  const instance = resourceNamed(json, "aws_db_instance", "Database_Instance");

  test("PostgreSQL 15 on a Graviton class that meets k3s's datastore sizing, private and encrypted", () => {
    expect(instance).toMatchObject({
      engine: "postgres",
      engine_version: "15",
      instance_class: "db.t4g.small",
      publicly_accessible: false,
      storage_encrypted: true,
      storage_type: "gp3",
      allocated_storage: 20,
      max_allocated_storage: 100,
      backup_retention_period: 7,
      copy_tags_to_snapshot: true,
      auto_minor_version_upgrade: true,
      enabled_cloudwatch_logs_exports: ["postgresql", "upgrade"],
      multi_az: true,
      performance_insights_enabled: false,
    });
  });

  test("lives in a subnet group over the private subnets, behind the database security group", () => {
    const subnetGroup = resourceNamed(json, "aws_db_subnet_group", "Database_SubnetGroup");
    expect(subnetGroup.subnet_ids).toEqual(privateSubnetRefs(json));
    expect(referencedId(instance.db_subnet_group_name)).toBe(logicalIdOf(json, "aws_db_subnet_group", "Database_SubnetGroup"));
    expect(instance.vpc_security_group_ids).toEqual([`\${aws_security_group.${logicalIdOf(json, "aws_security_group", "Networking_SecurityGroups_Database")}.id}`]);
    const ingress = resourcesOf(json, "aws_vpc_security_group_ingress_rule").filter(([, rule]) => referencedId(rule.security_group_id).startsWith("Networking_SecurityGroups_Database_"));
    expect(ingress.map(([, rule]) => [rule.from_port, rule.to_port, referencedId(rule.referenced_security_group_id)])).toEqual([
      [5432, 5432, logicalIdOf(json, "aws_security_group", "Networking_SecurityGroups_Server")],
    ]);
  });

  test("the parameter group forces TLS", () => {
    expect(synthesized).toHaveResourceWithProperties({ tfResourceType: "aws_db_parameter_group" }, { family: "postgres15", parameter: [{ name: "rds.force_ssl", value: "1" }] });
    expect(referencedId(instance.parameter_group_name)).toBe(logicalIdOf(json, "aws_db_parameter_group", "Database_ParameterGroup"));
  });

  test("outside dev: deletion protection, prevent_destroy and a final snapshot; none of them in dev", () => {
    for (const environment of ["prod", "staging"] as const) {
      const db = resourceNamed(synthCluster({ environment }).json, "aws_db_instance", "Database_Instance");
      expect(db).toMatchObject({ deletion_protection: true, skip_final_snapshot: false, lifecycle: { prevent_destroy: true } });
    }
    const dev = synthCluster({ environment: "dev" }).json;
    const devDb = resourceNamed(dev, "aws_db_instance", "Database_Instance");
    expect(devDb).toMatchObject({ deletion_protection: false, skip_final_snapshot: true, multi_az: false, lifecycle: { prevent_destroy: false } });
    expect(devDb.final_snapshot_identifier).toBeUndefined();
    expect(resourcesOf(dev, "random_id")).toEqual([]);
    expect(resourceNamed(dev, "aws_secretsmanager_secret", "Database_Secret").recovery_window_in_days).toBe(0);
    expect(resourceNamed(json, "aws_secretsmanager_secret", "Database_Secret").recovery_window_in_days).toBe(30);
  });

  test("a cluster rebuilt under the same name gets a new final snapshot name: a random suffix kept in state", () => {
    const suffix = resourceNamed(json, "random_id", "Database_FinalSnapshotSuffix");
    // No keepers: the suffix changes only when the random_id is created again, that is with a new cluster.
    expect(suffix).toEqual({ byte_length: 4 });
    const suffixRef = `\${random_id.${logicalIdOf(json, "random_id", "Database_FinalSnapshotSuffix")}.hex}`;
    expect(instance.final_snapshot_identifier).toBe(`k3s-datastore-final-${suffixRef}`);
  });

  test("the secret name is a prefix, so a secret of an earlier cluster still in its recovery window cannot collide", () => {
    const secret = resourceNamed(json, "aws_secretsmanager_secret", "Database_Secret");
    expect(secret.name_prefix).toBe("k3s/datastore-");
    expect(secret.name).toBeUndefined();
  });

  test("RDS's log groups exist before the instance, with retention", () => {
    // Names from "Publishing PostgreSQL logs to Amazon CloudWatch Logs" (RDS User Guide): /aws/rds/instance/<instance>/postgresql.
    const groups = ["Postgresql", "Upgrade"].map((log) => resourceNamed(json, "aws_cloudwatch_log_group", `Database_${log}LogGroup`));
    expect(groups).toEqual([
      { name: "/aws/rds/instance/k3s-datastore/postgresql", retention_in_days: 30 },
      { name: "/aws/rds/instance/k3s-datastore/upgrade", retention_in_days: 30 },
    ]);
    expect(instance.identifier).toBe("k3s-datastore");
    expect(instance.depends_on).toEqual(["Postgresql", "Upgrade"].map((log) => `aws_cloudwatch_log_group.${logicalIdOf(json, "aws_cloudwatch_log_group", `Database_${log}LogGroup`)}`));
    const retention = synthCluster({ database: { logRetentionDays: 90 } }).synthesized;
    expect(retention).toHaveResourceWithProperties({ tfResourceType: "aws_cloudwatch_log_group" }, { name: "/aws/rds/instance/k3s-datastore/upgrade", retention_in_days: 90 });
  });

  test("sizing and availability come from config", () => {
    const db = resourceNamed(
      synthCluster({ database: { instanceClass: "db.m7g.large", multiAz: false, performanceInsights: true, backupRetentionDays: 14, maxAllocatedStorageGb: 500 } }).json,
      "aws_db_instance",
      "Database_Instance",
    );
    expect(db).toMatchObject({ instance_class: "db.m7g.large", multi_az: false, performance_insights_enabled: true, backup_retention_period: 14, max_allocated_storage: 500 });
  });

  test("the password is random, URL-safe, and reaches the instance and secret only by reference", () => {
    const password = resourceNamed(json, "random_password", "Database_MasterPassword");
    expect(password).toMatchObject({ length: 40, special: true, override_special: "-_.~" });
    const passwordRef = `random_password.${logicalIdOf(json, "random_password", "Database_MasterPassword")}.result`;
    expect(instance.password).toBe(`\${${passwordRef}}`);
    const secretString: string = resourceNamed(json, "aws_secretsmanager_secret_version", "Database_SecretValue").secret_string;
    expect(secretString).toContain(`"password" = ${passwordRef}`);
  });

  test("one JSON secret holds host, port, dbname, username and password, each from its own attribute", () => {
    const entries = jsonencodedObject(resourceNamed(json, "aws_secretsmanager_secret_version", "Database_SecretValue").secret_string);
    // The names RDS itself uses for a PostgreSQL secret (Secrets Manager user guide, "JSON structure of AWS Secrets
    // Manager secrets", Amazon RDS PostgreSQL), less "engine"; the contract module the server script renders from
    // must agree.
    expect(entries.map(([key]) => key)).toEqual(["host", "port", "dbname", "username", "password"]);
    expect([...DATASTORE_DOCUMENT_KEYS]).toEqual(entries.map(([key]) => key));
    const dbInstance = `aws_db_instance.${logicalIdOf(json, "aws_db_instance", "Database_Instance")}`;
    expect(Object.fromEntries(entries)).toEqual({
      host: `${dbInstance}.address`,
      port: `${dbInstance}.port`,
      dbname: `${dbInstance}.db_name`,
      username: `${dbInstance}.username`,
      password: `random_password.${logicalIdOf(json, "random_password", "Database_MasterPassword")}.result`,
    });
  });

  test("no output carries the password, and the read policy grants exactly this secret", () => {
    for (const [name, output] of Object.entries(json.output ?? {})) {
      expect({ name, value: JSON.stringify(output.value) }).not.toEqual({ name, value: expect.stringContaining("random_password") });
    }
    expect(policyStatements(json, "Database_ReadSecretPolicy")).toEqual([
      expect.objectContaining({
        actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        resources: [`\${aws_secretsmanager_secret.${logicalIdOf(json, "aws_secretsmanager_secret", "Database_Secret")}.arn}`],
      }),
    ]);
  });
});

describe("storage", () => {
  const { json } = synthCluster();
  const fileSystemId = logicalIdOf(json, "aws_efs_file_system", "Storage_FileSystem");

  test("EFS is encrypted, elastic, moves cold files to IA and back on access, and is backed up once", () => {
    expect(resourceNamed(json, "aws_efs_file_system", "Storage_FileSystem")).toMatchObject({
      encrypted: true,
      throughput_mode: "elastic",
      lifecycle_policy: [{ transition_to_ia: "AFTER_30_DAYS" }, { transition_to_primary_storage_class: "AFTER_1_ACCESS" }],
    });
    // The cluster's backup plan (on outside dev) covers the file system, so EFS's automatic daily backup is off;
    // without the plan the automatic one stays on.
    const backup = resourceNamed(json, "aws_efs_backup_policy", "Storage_Backup");
    expect(backup.backup_policy).toEqual({ status: "DISABLED" });
    expect(referencedId(backup.file_system_id)).toBe(fileSystemId);
    const withoutPlan = synthCluster({ backups: { enabled: false } }).json;
    expect(resourceNamed(withoutPlan, "aws_efs_backup_policy", "Storage_Backup").backup_policy).toEqual({ status: "ENABLED" });
  });

  test("one mount target per private subnet, in the EFS security group that admits NFS from nodes only", () => {
    const mountTargets = resourcesOf(json, "aws_efs_mount_target").map(([, target]) => target);
    expect(mountTargets.map((target) => target.subnet_id)).toEqual(privateSubnetRefs(json));
    const efsGroup = logicalIdOf(json, "aws_security_group", "Networking_SecurityGroups_Efs");
    for (const target of mountTargets) expect(target.security_groups).toEqual([`\${aws_security_group.${efsGroup}.id}`]);
    const sources = resourcesOf(json, "aws_vpc_security_group_ingress_rule")
      .filter(([, rule]) => referencedId(rule.security_group_id) === efsGroup)
      .map(([, rule]) => `${rule.ip_protocol}/${rule.from_port} ${referencedId(rule.referenced_security_group_id).split("_")[2]}`);
    expect(sources.sort()).toEqual(["tcp/2049 Agent", "tcp/2049 Server"]);
  });

  test("file-system policy denies non-TLS access and allows only IAM principals through mount targets", () => {
    const statements = policyStatements(json, "Storage_AccessPolicy");
    expect(statements[0]).toMatchObject({ effect: "Deny", principals: [{ type: "*", identifiers: ["*"] }], condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }] });
    expect(statements[1]).toMatchObject({ effect: "Allow", principals: [{ type: "AWS" }], condition: [{ variable: "elasticfilesystem:AccessedViaMountTarget", values: ["true"] }] });
    expect(statements[1].principals[0].identifiers[0]).toMatch(/^arn:\$\{data\.aws_partition\..+\.partition\}:iam::\$\{data\.aws_caller_identity\..+\.account_id\}:root$/);
    expect(statements.filter((statement) => statement.effect !== "Deny").flatMap((statement) => statement.principals)).not.toContainEqual({ type: "*", identifiers: ["*"] });
    expect(referencedId(resourceNamed(json, "aws_efs_file_system_policy", "Storage_Policy").file_system_id)).toBe(fileSystemId);
  });

  test("the file system is protected from destroy unless protectData is off", () => {
    const synth = (protectData: boolean) =>
      JSON.parse(Testing.synthScope((scope) => new Storage(scope, "Storage", { clusterName: "k3s", subnetIds: ["subnet-1"], securityGroupId: "sg-1", protectData, automaticBackups: true })));
    expect(resourceNamed(synth(true), "aws_efs_file_system", "Storage_FileSystem").lifecycle).toEqual({ prevent_destroy: true });
    expect(resourceNamed(synth(false), "aws_efs_file_system", "Storage_FileSystem").lifecycle).toEqual({ prevent_destroy: false });
  });

  test("the CSI driver may only create and delete access points it tags", () => {
    const statements = policyStatements(json, "Storage_CsiDriverPolicy");
    const bySid = Object.fromEntries(statements.map((statement) => [statement.sid, statement]));
    expect(bySid.CreateTaggedAccessPoints).toMatchObject({ actions: ["elasticfilesystem:CreateAccessPoint"], condition: [{ variable: "aws:RequestTag/efs.csi.aws.com/cluster", values: ["true"] }] });
    expect(bySid.DeleteOwnAccessPoints).toMatchObject({ actions: ["elasticfilesystem:DeleteAccessPoint"], condition: [{ variable: "aws:ResourceTag/efs.csi.aws.com/cluster", values: ["true"] }] });
    expect(statements.flatMap((statement) => statement.actions).filter((action: string) => action.endsWith("*"))).toEqual([]);
  });
});

describe("RDS CA bundle", () => {
  // URLs as listed under "Certificate bundles by AWS Region" in "Using SSL/TLS to encrypt a connection to a DB instance
  // or cluster": docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html (commercial, GovCloud) and
  // docs.amazonaws.cn/en_us/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html (China).
  test.each([
    ["eu-west-1", "aws", "https://truststore.pki.rds.amazonaws.com/eu-west-1/eu-west-1-bundle.pem"],
    ["us-east-1", "aws", "https://truststore.pki.rds.amazonaws.com/us-east-1/us-east-1-bundle.pem"],
    ["ap-southeast-3", "aws", "https://truststore.pki.rds.amazonaws.com/ap-southeast-3/ap-southeast-3-bundle.pem"],
    ["us-gov-west-1", "aws-us-gov", "https://truststore.pki.us-gov-west-1.rds.amazonaws.com/us-gov-west-1/us-gov-west-1-bundle.pem"],
    ["us-gov-east-1", "aws-us-gov", "https://truststore.pki.us-gov-west-1.rds.amazonaws.com/us-gov-east-1/us-gov-east-1-bundle.pem"],
    ["cn-north-1", "aws-cn", "https://rds-truststore.s3.cn-north-1.amazonaws.com.cn/cn-north-1/cn-north-1-bundle.pem"],
    ["cn-northwest-1", "aws-cn", "https://rds-truststore.s3.cn-north-1.amazonaws.com.cn/cn-northwest-1/cn-northwest-1-bundle.pem"],
  ] as const)("%s (%s) uses its partition's trust store", (region, partition, url) => {
    expect(rdsCaBundleUrl(region, partition)).toBe(url);
  });

});
