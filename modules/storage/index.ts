import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { EfsBackupPolicy } from "@cdktf/provider-aws/lib/efs-backup-policy";
import { EfsFileSystem } from "@cdktf/provider-aws/lib/efs-file-system";
import { EfsFileSystemPolicy } from "@cdktf/provider-aws/lib/efs-file-system-policy";
import { EfsMountTarget } from "@cdktf/provider-aws/lib/efs-mount-target";
import { Construct } from "constructs";
import { PolicyExemption } from "../policy";
import { denyInsecureTransport } from "../policy-statements";

/** Tag the EFS CSI driver puts on the access points it creates; its IAM permissions are scoped to it. */
const CSI_ACCESS_POINT_TAG = "efs.csi.aws.com/cluster";

/** Days without access before a file moves to Infrequent Access (one of the values EFS accepts). */
const INFREQUENT_ACCESS_AFTER_DAYS = 30;

export interface StorageProps {
  /** Prefix of the file system's name and creation token. */
  readonly clusterName: string;
  /** Private subnets, one mount target each (one per zone). */
  readonly subnetIds: string[];
  /** Security group admitting NFS from the node security groups only. */
  readonly securityGroupId: string;
  /**
   * Terraform's prevent_destroy on the file system, so no plan can delete the cluster's volumes.
   * Turn off only for throwaway (dev) clusters.
   */
  readonly protectData: boolean;
  /**
   * EFS's automatic backups (daily, to AWS Backup's default vault). Off when the cluster's own backup plan covers the
   * file system, which would otherwise be backed up twice a day.
   */
  readonly automaticBackups: boolean;
}

/** EFS throughput modes; the mode decides which throughput metrics the file system publishes. */
export type EfsThroughputMode = "bursting" | "elastic" | "provisioned";

/** EFS for ReadWriteMany volumes through the EFS CSI driver (dynamic provisioning with access points). */
export class Storage extends Construct {
  /** For the StorageClass's `fileSystemId` (provisioningMode: efs-ap). */
  public readonly fileSystemId: string;
  /** IAM policy (JSON) the EFS CSI driver needs on the nodes: describe, manage its own access points, mount with IAM. */
  public readonly csiDriverPolicyJson: string;
  /** ARN of the file system, for AWS Backup's selection. */
  public readonly fileSystemArn: string;
  /** Credits (BurstCreditBalance) exist only in bursting mode. */
  public readonly throughputMode: EfsThroughputMode = "elastic";
  /** PercentIOLimit is published for General Purpose file systems only. */
  public readonly performanceMode = "generalPurpose" as const;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const fileSystem = new EfsFileSystem(this, "FileSystem", {
      creationToken: `${props.clusterName}-shared`,
      encrypted: true,
      performanceMode: this.performanceMode,
      throughputMode: this.throughputMode,
      lifecyclePolicy: [{ transitionToIa: `AFTER_${INFREQUENT_ACCESS_AFTER_DAYS}_DAYS` }, { transitionToPrimaryStorageClass: "AFTER_1_ACCESS" }],
      tags: { Name: `${props.clusterName}-shared` },
      lifecycle: { preventDestroy: props.protectData },
    });
    this.fileSystemId = fileSystem.id;
    this.fileSystemArn = fileSystem.arn;

    new EfsBackupPolicy(this, "Backup", { fileSystemId: fileSystem.id, backupPolicy: { status: props.automaticBackups ? "ENABLED" : "DISABLED" } });

    props.subnetIds.forEach((subnetId, index) => {
      new EfsMountTarget(this, `MountTarget${index}`, { fileSystemId: fileSystem.id, subnetId, securityGroups: [props.securityGroupId] });
    });

    const account = new DataAwsCallerIdentity(this, "Account");
    const partition = new DataAwsPartition(this, "Partition");
    // With a policy in place, clients that do not authenticate with IAM count as anonymous and get no allow;
    // only principals of this account mounting through a mount target, over TLS, get in.
    const accessPolicy = new DataAwsIamPolicyDocument(this, "AccessPolicy", {
      statement: [
        denyInsecureTransport(["*"], [fileSystem.arn]),
        {
          sid: "AllowAccountPrincipalsThroughMountTargets",
          effect: "Allow",
          principals: [{ type: "AWS", identifiers: [`arn:${partition.partition}:iam::${account.accountId}:root`] }],
          actions: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
          resources: [fileSystem.arn],
          condition: [{ test: "Bool", variable: "elasticfilesystem:AccessedViaMountTarget", values: ["true"] }],
        },
      ],
    });
    new EfsFileSystemPolicy(this, "Policy", { fileSystemId: fileSystem.id, policy: accessPolicy.json, bypassPolicyLockoutSafetyCheck: false });

    const accessPointArns = `arn:${partition.partition}:elasticfilesystem:*:${account.accountId}:access-point/*`;
    const csiDriverPolicy = new DataAwsIamPolicyDocument(this, "CsiDriverPolicy", {
      statement: [
        {
          sid: "Describe",
          actions: ["elasticfilesystem:DescribeAccessPoints", "elasticfilesystem:DescribeFileSystems", "elasticfilesystem:DescribeMountTargets", "ec2:DescribeAvailabilityZones"],
          resources: ["*"],
        },
        {
          sid: "CreateTaggedAccessPoints",
          actions: ["elasticfilesystem:CreateAccessPoint"],
          resources: [fileSystem.arn],
          condition: [{ test: "StringLike", variable: `aws:RequestTag/${CSI_ACCESS_POINT_TAG}`, values: ["true"] }],
        },
        {
          sid: "TagNewAccessPoints",
          actions: ["elasticfilesystem:TagResource"],
          resources: [fileSystem.arn, accessPointArns],
          condition: [{ test: "StringLike", variable: `aws:ResourceTag/${CSI_ACCESS_POINT_TAG}`, values: ["true"] }],
        },
        {
          sid: "DeleteOwnAccessPoints",
          actions: ["elasticfilesystem:DeleteAccessPoint"],
          resources: [accessPointArns],
          condition: [{ test: "StringEquals", variable: `aws:ResourceTag/${CSI_ACCESS_POINT_TAG}`, values: ["true"] }],
        },
        {
          sid: "MountWithIam",
          actions: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
          resources: [fileSystem.arn],
        },
      ],
    });
    PolicyExemption.of(csiDriverPolicy).exempt(
      "iam-wildcard-resource",
      "Statement Describe: the EFS CSI driver describes the file systems, mount targets and access points that StorageClasses " +
        "and volumes in the cluster name, chosen there rather than at synth, and its published IAM policy grants these " +
        "describes on \"*\". They read configuration only; every change the driver may make is scoped below, by file system " +
        "and by the driver's own tag.",
      { statements: ["Describe"] },
    );
    this.csiDriverPolicyJson = csiDriverPolicy.json;
  }
}
