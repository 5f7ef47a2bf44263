import { readFileSync } from "fs";
import { join } from "path";
import { matchesEventPattern } from "./support/event-pattern";
import { documentStatements, ref, resourceNamed, resourcesOf, synthCluster } from "./helpers";

const BACKUP_TYPES = ["aws_backup_vault", "aws_backup_plan", "aws_backup_selection"];

describe("AWS Backup (default production cluster)", () => {
  const { json } = synthCluster();
  const vault = resourceNamed(json, "aws_backup_vault", "Backup_Vault");
  const plan = resourceNamed(json, "aws_backup_plan", "Backup_Plan");

  test("the vault is encrypted with a rotating key of its own and cannot be destroyed with its recovery points", () => {
    expect(vault).toMatchObject({ name: "k3s-backups", kms_key_arn: ref(json, "aws_kms_key", "Backup_VaultKey", "arn"), force_destroy: false, lifecycle: { prevent_destroy: true } });
    expect(resourceNamed(json, "aws_kms_key", "Backup_VaultKey")).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30, lifecycle: { prevent_destroy: true } });
  });

  test("one daily rule keeps 35 days of recovery points in that vault, with no copy", () => {
    expect(plan.name).toBe("k3s-daily");
    expect(plan.rule).toEqual([
      {
        rule_name: "daily",
        target_vault_name: ref(json, "aws_backup_vault", "Backup_Vault", "name"),
        // Minute 0, hour 3, every day of every month: daily at 03:00 UTC (AWS Backup cron, six fields).
        schedule: "cron(0 3 * * ? *)",
        lifecycle: { delete_after: 35 },
      },
    ]);
  });

  test("the selection names the datastore instance and the file system by ARN, with the backup role", () => {
    const selection = resourceNamed(json, "aws_backup_selection", "Backup_Selection");
    expect(selection).toMatchObject({ plan_id: ref(json, "aws_backup_plan", "Backup_Plan", "id"), iam_role_arn: ref(json, "aws_iam_role", "Backup_Role", "arn") });
    expect([...selection.resources].sort()).toEqual([ref(json, "aws_db_instance", "Database_Instance", "arn"), ref(json, "aws_efs_file_system", "Storage_FileSystem", "arn")].sort());
    expect(selection.selection_tag).toBeUndefined();
  });

  test("the role is AWS Backup's, with AWS's managed policies for backups and restores", () => {
    const role = resourceNamed(json, "aws_iam_role", "Backup_Role");
    expect(role.name).toBe("k3s-eu-west-1-backup");
    expect(documentStatements(json, role.assume_role_policy)).toEqual([{ actions: ["sts:AssumeRole"], principals: [{ type: "Service", identifiers: ["backup.amazonaws.com"] }] }]);
    const partition = `\${data.aws_partition.${Object.keys(json.data!.aws_partition).find((id) => id.startsWith("Backup_"))}.partition}`;
    const attachments = resourcesOf(json, "aws_iam_role_policy_attachment").filter(([id]) => id.startsWith("Backup_")).map(([, attachment]) => attachment);
    // AWS managed policy reference: arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup and ...ForRestores.
    expect(attachments.map((attachment) => attachment.policy_arn).sort()).toEqual([
      `arn:${partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup`,
      `arn:${partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores`,
    ]);
    for (const attachment of attachments) expect(attachment.role).toBe(ref(json, "aws_iam_role", "Backup_Role", "name"));
  });

  test("EFS's automatic backup is off, since the plan covers the file system", () => {
    expect(resourceNamed(json, "aws_efs_backup_policy", "Storage_Backup").backup_policy).toEqual({ status: "DISABLED" });
  });

  test("nothing is created in a second region", () => {
    expect(json.provider!.aws.map((provider: any) => provider.alias)).not.toContain("backup_copy");
    expect(resourcesOf(json, "aws_backup_vault")).toHaveLength(1);
    expect(plan.rule[0].copy_action).toBeUndefined();
  });
});

describe("failed backups are notified", () => {
  const { json } = synthCluster();
  const rule = resourceNamed(json, "aws_cloudwatch_event_rule", "Automation_BackupFailureRule");
  const ruleArn = ref(json, "aws_cloudwatch_event_rule", "Automation_BackupFailureRule", "arn");
  const topicArn = ref(json, "aws_sns_topic", "Automation_NotificationTopic", "arn");
  const fromTheRule = [
    { test: "StringEquals", variable: "aws:SourceAccount", values: [`\${data.aws_caller_identity.${Object.keys(json.data!.aws_caller_identity).find((id) => id.startsWith("Automation_"))}.account_id}`] },
    { test: "ArnEquals", variable: "aws:SourceArn", values: [ruleArn] },
  ];

  test("an EventBridge rule sends the cluster vault's job events to the automation topic", () => {
    expect(rule.name).toBe("k3s-backup-failures");
    expect(resourceNamed(json, "aws_cloudwatch_event_target", "Automation_BackupFailureTarget")).toMatchObject({ rule: ref(json, "aws_cloudwatch_event_rule", "Automation_BackupFailureRule", "name"), arn: topicArn });
  });

  describe("which of the AWS Backup developer guide's example events the rule takes (\"Monitoring AWS Backup events using Amazon EventBridge\")", () => {
    const pattern = JSON.parse(rule.event_pattern);
    const example = (file: string) => JSON.parse(readFileSync(join(__dirname, "support", "aws-events", "backup", file), "utf8"));
    // The event as AWS Backup would send it for this cluster's vault: Terraform puts the vault's name and ARN into the
    // pattern, so the event carries the same references.
    const inClusterVault = (event: any) => {
      const vault = event["detail-type"] === "Copy Job State Change"
        ? { sourceBackupVaultArn: ref(json, "aws_backup_vault", "Backup_Vault", "arn") }
        : { backupVaultName: ref(json, "aws_backup_vault", "Backup_Vault", "name") };
      return { ...event, detail: { ...event.detail, ...vault } };
    };

    test.each(["backup-job-failed.json", "backup-job-aborted.json", "backup-job-expired.json", "copy-job-failed.json"])("%s in the cluster's vault: taken", (file) => {
      expect(matchesEventPattern(pattern, inClusterVault(example(file)))).toBe(true);
    });

    test.each(["backup-job-completed.json", "copy-job-running.json", "restore-job-failed.json"])("%s in the cluster's vault: not taken", (file) => {
      expect(matchesEventPattern(pattern, inClusterVault(example(file)))).toBe(false);
    });

    test("a partial job, and a completed one with a status message (the console's \"Completed with issues\"), are taken; an empty message is no issue", () => {
      const completed = inClusterVault(example("backup-job-completed.json"));
      expect(matchesEventPattern(pattern, { ...completed, detail: { ...completed.detail, state: "PARTIAL" } })).toBe(true);
      expect(matchesEventPattern(pattern, { ...completed, detail: { ...completed.detail, statusMessage: "Completed with a warning" } })).toBe(true);
      expect(matchesEventPattern(pattern, { ...completed, detail: { ...completed.detail, statusMessage: "" } })).toBe(false);
      const copy = inClusterVault(example("copy-job-failed.json"));
      expect(matchesEventPattern(pattern, { ...copy, detail: { ...copy.detail, state: "PARTIAL" } })).toBe(true);
    });

    test.each(["backup-job-failed.json", "backup-job-expired.json", "copy-job-failed.json"])("%s of another vault (another cluster's, an EFS automatic backup): not taken", (file) => {
      expect(matchesEventPattern(pattern, example(file))).toBe(false);
    });
  });

  test("the topic and its key admit EventBridge for that rule only", () => {
    const topicStatements = documentStatements(json, resourceNamed(json, "aws_sns_topic_policy", "Automation_NotificationTopicPolicy").policy);
    expect(topicStatements.find((statement) => statement.sid === "BackupFailureRulePublishes")).toEqual({
      sid: "BackupFailureRulePublishes",
      actions: ["sns:Publish"],
      resources: [topicArn],
      principals: [{ type: "Service", identifiers: ["events.amazonaws.com"] }],
      condition: fromTheRule,
    });
    const keyStatements = documentStatements(json, resourceNamed(json, "aws_kms_key_policy", "Automation_NotificationKeyPolicy").policy);
    expect(keyStatements.find((statement) => statement.sid === "BackupFailureRuleEncrypts")).toMatchObject({ principals: [{ type: "Service", identifiers: ["events.amazonaws.com"] }], condition: fromTheRule });
  });

  test("without backups there is no rule, and nothing admits EventBridge", () => {
    const off = synthCluster({ backups: { enabled: false } }).json;
    expect(resourcesOf(off, "aws_cloudwatch_event_rule").map(([id]) => id)).not.toContainEqual(expect.stringMatching(/^Automation_BackupFailureRule_/));
    expect(JSON.stringify(off.data!.aws_iam_policy_document)).not.toContain("BackupFailureRule");
  });
});

describe("AWS Backup settings", () => {
  test("retention reaches the rule", () => {
    const plan = resourceNamed(synthCluster({ backups: { retentionDays: 90 } }).json, "aws_backup_plan", "Backup_Plan");
    expect(plan.rule[0].lifecycle).toEqual({ delete_after: 90 });
  });

  test("a copy region gets its own encrypted vault through an aliased provider, and the rule copies there for as long", () => {
    const { json } = synthCluster({ backups: { copyRegion: "eu-central-1", retentionDays: 60 } });
    const copyProvider = json.provider!.aws.find((provider: any) => provider.alias === "backup_copy");
    expect(copyProvider).toMatchObject({ region: "eu-central-1", default_tags: json.provider!.aws[0].default_tags });
    expect(resourceNamed(json, "aws_kms_key", "Backup_CopyVaultKey")).toMatchObject({ provider: "aws.backup_copy", enable_key_rotation: true });
    expect(resourceNamed(json, "aws_backup_vault", "Backup_CopyVault")).toMatchObject({
      provider: "aws.backup_copy",
      name: "k3s-backups",
      kms_key_arn: ref(json, "aws_kms_key", "Backup_CopyVaultKey", "arn"),
      lifecycle: { prevent_destroy: true },
    });
    // The cluster's own vault stays in the cluster's region.
    expect(resourceNamed(json, "aws_backup_vault", "Backup_Vault").provider).toBeUndefined();
    expect(resourceNamed(json, "aws_backup_plan", "Backup_Plan").rule[0].copy_action).toEqual([
      { destination_vault_arn: ref(json, "aws_backup_vault", "Backup_CopyVault", "arn"), lifecycle: { delete_after: 60 } },
    ]);
  });

  test("dev clusters have no plan and keep EFS's automatic backup; turned on there, the vault may go, but never with its recovery points", () => {
    const dev = synthCluster({ environment: "dev" }).json;
    for (const type of BACKUP_TYPES) expect(resourcesOf(dev, type)).toEqual([]);
    expect(resourceNamed(dev, "aws_efs_backup_policy", "Storage_Backup").backup_policy).toEqual({ status: "ENABLED" });
    const devWithBackups = synthCluster({ environment: "dev", backups: { enabled: true } }).json;
    expect(resourceNamed(devWithBackups, "aws_backup_vault", "Backup_Vault")).toMatchObject({ force_destroy: false, lifecycle: { prevent_destroy: false } });
  });

  test("turned off in production, nothing of AWS Backup's is created", () => {
    const { json } = synthCluster({ backups: { enabled: false } });
    for (const type of BACKUP_TYPES) expect(resourcesOf(json, type)).toEqual([]);
    expect(resourcesOf(json, "aws_iam_role").filter(([id]) => id.startsWith("Backup_"))).toEqual([]);
  });

  test.each([
    [{ retentionDays: 6 }, "backups.retentionDays: must be between 7 and 3650 (days of daily recovery points)"],
    [{ retentionDays: 3651 }, "backups.retentionDays: must be between 7 and 3650 (days of daily recovery points)"],
    [{ copyRegion: "Frankfurt" }, 'backups.copyRegion: must be an AWS region such as "eu-central-1"'],
    [{ copyRegion: "eu-west-1" }, "backups.copyRegion: must differ from region (eu-west-1); a copy in the same region does not survive the region's loss"],
    [{ copyRegion: "cn-north-1" }, 'backups.copyRegion: "cn-north-1" is in partition aws-cn but region "eu-west-1" is in aws; AWS Backup copies within one partition'],
  ])("%j is refused", (backups, message) => {
    expect(() => synthCluster({ backups })).toThrow(message);
  });
});
