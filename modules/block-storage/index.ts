import { DataAwsIamPolicyDocument, DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { Construct } from "constructs";
import { clusterTagKey } from "../cluster-tag";
import type { WorkloadIdentity } from "../workload-identity";

/**
 * The tag the EBS CSI driver puts on every volume it creates when its controller runs with
 * `--k8s-tag-cluster-id=<cluster>` (chart value controller.k8sTagClusterId): "the resource tag key for cluster-scoped
 * IAM policies" (kubernetes-sigs/aws-ebs-csi-driver pkg/driver/constants.go, ClusterNameTagKey, and docs/tagging.md).
 * The nodes' root volumes never carry it, so the driver can touch none of them.
 */
export const EBS_CSI_CLUSTER_NAME_TAG = "ebs.csi.aws.com/cluster-name";

/**
 * The controller's service account: the chart installs into kube-system (the HelmChart's targetNamespace) and names it
 * ebs-csi-controller-sa by default (values.yaml of chart 2.64.0, controller.serviceAccount.name); the manifest sets the
 * name from here, so the role's trust and the pods agree.
 */
export const EBS_CSI_CONTROLLER_SERVICE_ACCOUNT = { namespace: "kube-system", name: "ebs-csi-controller-sa" } as const;

export interface BlockStorageProps {
  /** The cluster the driver tags its volumes with, and whose instances it may attach them to. */
  readonly clusterName: string;
  /** Region the volumes live in. */
  readonly region: string;
  /** AWS partition, for the ARNs. */
  readonly partition: string;
  /** The cluster's service-account issuer, through which the controller gets its role. */
  readonly workloadIdentity: WorkloadIdentity;
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

/**
 * IAM for the AWS EBS CSI driver, which provisions the cluster's ReadWriteOnce (gp3) volumes: a role for its controller
 * alone, the only part that calls EC2 (the node plugin mounts what the controller attached, and reads its instance's
 * details from the Node object), so no node role can create or delete volumes.
 */
export class BlockStorage extends Construct {
  /** The role the controller assumes (ebs-csi-controller-sa in kube-system). */
  public readonly controllerRoleArn: string;

  constructor(scope: Construct, id: string, props: BlockStorageProps) {
    super(scope, id);
    const policy = new DataAwsIamPolicyDocument(this, "CsiDriverPolicy", { statement: ebsCsiDriverStatements({ ...props, accountId: props.workloadIdentity.accountId }) });
    this.controllerRoleArn = props.workloadIdentity.roleFor("EbsCsiControllerRole", { name: "ebs-csi-controller", serviceAccount: EBS_CSI_CONTROLLER_SERVICE_ACCOUNT, policyJson: policy.json }).arn;
  }
}
