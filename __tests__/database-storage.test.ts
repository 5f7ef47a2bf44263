import { DATASTORE_SECRET_KEYS } from "../modules/database";
import { logicalIdOf, referencedId, resourceNamed, resourcesOf, synthCluster, TerraformJson } from "./helpers";

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

  test("deletion protection and a final snapshot outside dev; neither in dev", () => {
    for (const environment of ["prod", "staging"] as const) {
      const db = resourceNamed(synthCluster({ environment }).json, "aws_db_instance", "Database_Instance");
      expect(db).toMatchObject({ deletion_protection: true, skip_final_snapshot: false, final_snapshot_identifier: "k3s-datastore-final" });
    }
    const dev = synthCluster({ environment: "dev" }).json;
    const devDb = resourceNamed(dev, "aws_db_instance", "Database_Instance");
    expect(devDb).toMatchObject({ deletion_protection: false, skip_final_snapshot: true, multi_az: false });
    expect(devDb.final_snapshot_identifier).toBeUndefined();
    expect(resourceNamed(dev, "aws_secretsmanager_secret", "Database_Secret").recovery_window_in_days).toBe(0);
    expect(resourceNamed(json, "aws_secretsmanager_secret", "Database_Secret").recovery_window_in_days).toBe(30);
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

  test("one JSON secret holds host, port, dbname, username and password", () => {
    const secretString: string = resourceNamed(json, "aws_secretsmanager_secret_version", "Database_SecretValue").secret_string;
    const keys = [...secretString.matchAll(/"([a-z]+)" = /g)].map((match) => match[1]);
    expect(keys).toEqual([...DATASTORE_SECRET_KEYS]);
    expect(DATASTORE_SECRET_KEYS).toEqual(["host", "port", "dbname", "username", "password"]);
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

  test("EFS is encrypted, elastic, moves cold files to IA and back on access, and is backed up", () => {
    expect(resourceNamed(json, "aws_efs_file_system", "Storage_FileSystem")).toMatchObject({
      encrypted: true,
      throughput_mode: "elastic",
      lifecycle_policy: [{ transition_to_ia: "AFTER_30_DAYS" }, { transition_to_primary_storage_class: "AFTER_1_ACCESS" }],
    });
    const backup = resourceNamed(json, "aws_efs_backup_policy", "Storage_Backup");
    expect(backup.backup_policy).toEqual({ status: "ENABLED" });
    expect(referencedId(backup.file_system_id)).toBe(fileSystemId);
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

  test("the CSI driver may only create and delete access points it tags", () => {
    const statements = policyStatements(json, "Storage_CsiDriverPolicy");
    const bySid = Object.fromEntries(statements.map((statement) => [statement.sid, statement]));
    expect(bySid.CreateTaggedAccessPoints).toMatchObject({ actions: ["elasticfilesystem:CreateAccessPoint"], condition: [{ variable: "aws:RequestTag/efs.csi.aws.com/cluster", values: ["true"] }] });
    expect(bySid.DeleteOwnAccessPoints).toMatchObject({ actions: ["elasticfilesystem:DeleteAccessPoint"], condition: [{ variable: "aws:ResourceTag/efs.csi.aws.com/cluster", values: ["true"] }] });
    expect(statements.flatMap((statement) => statement.actions).filter((action: string) => action.endsWith("*"))).toEqual([]);
  });
});
