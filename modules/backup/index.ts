import { BackupPlan } from "@cdktf/provider-aws/lib/backup-plan";
import { BackupSelection } from "@cdktf/provider-aws/lib/backup-selection";
import { BackupVault } from "@cdktf/provider-aws/lib/backup-vault";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { TerraformProvider } from "cdktf";
import { Construct } from "constructs";
import { PolicyExemption } from "../policy";

/** Daily at 03:00 UTC (AWS Backup schedules are cron expressions in UTC unless a time zone is given). */
export const BACKUP_SCHEDULE = "cron(0 3 * * ? *)";

/**
 * AWS managed policies for an AWS Backup service role: taking backups and restoring them, across the services AWS
 * Backup supports (AWS Backup developer guide, "Managed policies for AWS Backup";
 * https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSBackupServiceRolePolicyForBackup.html and
 * .../AWSBackupServiceRolePolicyForRestores.html). AWS maintains them as services and backup features change.
 */
export const BACKUP_MANAGED_POLICIES = ["AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"] as const;

export interface BackupProps {
  /** Prefix of the vault, plan, selection and role names. */
  readonly clusterName: string;
  /** IAM role names are account-global: they carry the region so one account can run the cluster in two regions. */
  readonly region: string;
  /** Resources backed up, by ARN: the datastore instance and the file system. */
  readonly resourceArns: string[];
  /**
   * The tag key the EBS CSI driver puts on every volume it creates, with the cluster's name as its value (block storage):
   * those volumes (gp3 claims: Jenkins's home, Prometheus's data, users' databases) are backed up too.
   * @default undefined (no EBS volumes)
   */
  readonly clusterVolumeTagKey?: string;
  /** Days each recovery point is kept, in the vault and in the copy. */
  readonly retentionDays: number;
  /**
   * A second region each recovery point is copied to: an AWS provider aliased to that region, in which the copy's
   * vault and key are created.
   * @default undefined (no copy)
   */
  readonly copy?: { readonly provider: TerraformProvider };
  /**
   * Terraform's prevent_destroy on the vaults, so no plan deletes them. Off only for throwaway (dev) clusters; even
   * then a vault holding recovery points is not deleted (no force_destroy).
   */
  readonly protectData: boolean;
}

/** AWS Backup for the cluster's data: a daily plan into a KMS-encrypted vault, optionally copied to a second region. */
export class Backup extends Construct {
  public readonly vaultArn: string;
  public readonly vaultName: string;
  /** ARN of the vault in the copy region, when there is one. */
  public readonly copyVaultArn?: string;
  /** ARN of the role AWS Backup takes backups and restores with; a restore job names it too (README, Restoring). */
  public readonly roleArn: string;

  constructor(scope: Construct, id: string, props: BackupProps) {
    super(scope, id);
    const { clusterName, protectData, retentionDays } = props;
    const partition = new DataAwsPartition(this, "Partition").partition;

    const vault = this.vault("", `${clusterName}-backups`, undefined, protectData);
    this.vaultArn = vault.arn;
    this.vaultName = vault.name;
    // A copy is a separate recovery point in the other region's vault, kept as long as the original.
    const copyVault = props.copy ? this.vault("Copy", `${clusterName}-backups`, props.copy.provider, protectData) : undefined;
    this.copyVaultArn = copyVault?.arn;

    const plan = new BackupPlan(this, "Plan", {
      name: `${clusterName}-daily`,
      rule: [
        {
          ruleName: "daily",
          targetVaultName: vault.name,
          schedule: BACKUP_SCHEDULE,
          lifecycle: { deleteAfter: retentionDays },
          copyAction: copyVault ? [{ destinationVaultArn: copyVault.arn, lifecycle: { deleteAfter: retentionDays } }] : undefined,
        },
      ],
    });

    const assumeRole = new DataAwsIamPolicyDocument(this, "AssumeRole", {
      statement: [{ actions: ["sts:AssumeRole"], principals: [{ type: "Service", identifiers: ["backup.amazonaws.com"] }] }],
    });
    PolicyExemption.of(assumeRole).exempt(
      "iam-service-source",
      "AWS Backup documents no aws:SourceAccount or aws:SourceArn for assuming a backup plan's service role (its own default " +
        "role, AWSBackupDefaultServiceRole, trusts backup.amazonaws.com without conditions), and a key the service never sends " +
        "would stop every backup. Naming this role in a selection or restore job takes iam:PassRole in this account, which is what guards it.",
    );
    const role = new IamRole(this, "Role", { name: `${clusterName}-${props.region}-backup`, assumeRolePolicy: assumeRole.json });
    this.roleArn = role.arn;
    for (const policy of BACKUP_MANAGED_POLICIES) {
      const attachment = new IamRolePolicyAttachment(this, policy.replace("AWSBackupServiceRolePolicy", "Role"), {
        role: role.name,
        policyArn: `arn:${partition}:iam::aws:policy/service-role/${policy}`,
      });
      PolicyExemption.of(attachment).exempt(
        "iam-managed-policy",
        "AWS Backup's guide gives a plan's service role these policies (its default role carries them); only the AWS Backup " +
          "service assumes this role, for the resources the plan's selections name, and AWS keeps the grants in step with " +
          "the services and features AWS Backup supports.",
      );
    }

    // By ARN, not by tag: a tag anyone may set on another resource would put it into the plan.
    new BackupSelection(this, "Selection", { name: `${clusterName}-cluster-data`, planId: plan.id, iamRoleArn: role.arn, resources: props.resourceArns });
    // The driver's volumes have no ARN before they exist, so they are chosen by the tag it sets: EBS volumes (the
    // resource type) that also carry the tag, as a selection's resources and conditions narrow each other (AWS Backup
    // developer guide, "Assign resources with AWS CLI": resources combined with OR, conditions with AND, as in IAM;
    // its example selects EBS volumes and RDS instances carrying two tags). Anyone allowed to tag a volume so can add
    // it to these backups; only the driver's role gets that tag from this project.
    if (props.clusterVolumeTagKey) {
      new BackupSelection(this, "VolumeSelection", {
        name: `${clusterName}-volumes`,
        planId: plan.id,
        iamRoleArn: role.arn,
        resources: [`arn:${partition}:ec2:*:*:volume/*`],
        condition: [{ stringEquals: [{ key: `aws:ResourceTag/${props.clusterVolumeTagKey}`, value: clusterName }] }],
      });
    }
  }

  /** A vault encrypted with a key of its own, in the provider's region. */
  private vault(prefix: string, name: string, provider: TerraformProvider | undefined, protectData: boolean): BackupVault {
    const key = new KmsKey(this, `${prefix}VaultKey`, {
      provider,
      description: `${name}: AWS Backup recovery points`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      // Deleting the key makes every recovery point it encrypts unreadable, so it is held like the vault.
      lifecycle: { preventDestroy: protectData },
    });
    return new BackupVault(this, `${prefix}Vault`, {
      provider,
      name,
      kmsKeyArn: key.arn,
      // Never force_destroy, which deletes every recovery point with the vault: switching a cluster to "dev" to destroy
      // it must not take its backups along. AWS refuses to delete a vault that still holds recovery points.
      forceDestroy: false,
      lifecycle: { preventDestroy: protectData },
    });
  }
}
