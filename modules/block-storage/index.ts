import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsIamPolicyDocument, DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { Construct } from "constructs";
import { clusterTagKey } from "../cluster-tag";

/**
 * The tag the EBS CSI driver puts on every volume it creates when its controller runs with
 * `--k8s-tag-cluster-id=<cluster>` (chart value controller.k8sTagClusterId): "the resource tag key for cluster-scoped
 * IAM policies" (kubernetes-sigs/aws-ebs-csi-driver pkg/driver/constants.go, ClusterNameTagKey, and docs/tagging.md).
 * The nodes' root volumes never carry it, so the driver can touch none of them.
 */
export const EBS_CSI_CLUSTER_NAME_TAG = "ebs.csi.aws.com/cluster-name";

export interface BlockStorageProps {
  /** The cluster the driver tags its volumes with, and whose instances it may attach them to. */
  readonly clusterName: string;
  /** Region the volumes live in. */
  readonly region: string;
  /** AWS partition, for the ARNs. */
  readonly partition: string;
}

/**
 * The node permissions of the AWS EBS CSI driver, scoped to this cluster's volumes and instances. Modelled on
 * upstream's docs/AmazonEBSCSIDriverEKSClusterScopedPolicy.json (chart 2.64.0), which scopes every change by the
 * cluster-name tag, minus snapshots (no snapshot CRDs or VolumeSnapshotClass are installed) and volume copies.
 */
export function ebsCsiDriverStatements(props: BlockStorageProps & { readonly accountId: string }): DataAwsIamPolicyDocumentStatement[] {
  const volumes = `arn:${props.partition}:ec2:${props.region}:${props.accountId}:volume/*`;
  const instances = `arn:${props.partition}:ec2:${props.region}:${props.accountId}:instance/*`;
  const thisCluster = (key: "aws:RequestTag" | "aws:ResourceTag") => ({ test: "StringEquals", variable: `${key}/${EBS_CSI_CLUSTER_NAME_TAG}`, values: [props.clusterName] });
  return [
    {
      // Describe calls take no resource (Service Authorization Reference, Amazon EC2): "*" is the only resource.
      sid: "Describe",
      actions: [
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeVolumes",
        "ec2:DescribeVolumesModifications",
        "ec2:DescribeVolumeStatus",
      ],
      resources: ["*"],
    },
    // A volume is created only with this cluster's tag in the request, so every volume the driver makes is the cluster's.
    { sid: "CreateClusterVolumes", actions: ["ec2:CreateVolume"], resources: [volumes], condition: [thisCluster("aws:RequestTag")] },
    // The tags go on in the CreateVolume call itself; CreateTags is allowed only as part of it.
    {
      sid: "TagVolumesOnCreate",
      actions: ["ec2:CreateTags"],
      resources: [volumes],
      condition: [{ test: "StringEquals", variable: "ec2:CreateAction", values: ["CreateVolume"] }],
    },
    {
      sid: "ManageClusterVolumes",
      actions: ["ec2:AttachVolume", "ec2:DetachVolume", "ec2:ModifyVolume", "ec2:DeleteVolume"],
      resources: [volumes],
      condition: [thisCluster("aws:ResourceTag")],
    },
    // Attach and detach are also authorised against the instance: only the cluster's nodes (launch templates tag them).
    {
      sid: "AttachToClusterInstances",
      actions: ["ec2:AttachVolume", "ec2:DetachVolume"],
      resources: [instances],
      condition: [{ test: "StringEquals", variable: `aws:ResourceTag/${clusterTagKey(props.clusterName)}`, values: ["owned"] }],
    },
  ];
}

/** IAM for the AWS EBS CSI driver, which provisions the cluster's ReadWriteOnce (gp3) volumes. */
export class BlockStorage extends Construct {
  /** IAM policy (JSON) the driver needs on the nodes: create, attach, resize and delete the cluster's volumes. */
  public readonly csiDriverPolicyJson: string;

  constructor(scope: Construct, id: string, props: BlockStorageProps) {
    super(scope, id);
    const accountId = new DataAwsCallerIdentity(this, "Account").accountId;
    this.csiDriverPolicyJson = new DataAwsIamPolicyDocument(this, "CsiDriverPolicy", { statement: ebsCsiDriverStatements({ ...props, accountId }) }).json;
  }
}
