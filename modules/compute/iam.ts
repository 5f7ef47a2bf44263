import { DataAwsIamPolicyDocument, DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamInstanceProfile } from "@cdktf/provider-aws/lib/iam-instance-profile";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { PolicyExemption } from "../policy";
import { CLUSTER_OWNED, clusterTagKey } from "../cluster-tag";

/**
 * Read-only calls of the AWS cloud controller manager (kubernetes/cloud-provider-aws docs/prerequisites.md, whose
 * control-plane policy "is a bit open and can be scaled back"). Describe calls cannot be scoped by resource.
 */
export const CLOUD_CONTROLLER_READ_ACTIONS = [
  "autoscaling:DescribeAutoScalingGroups",
  "autoscaling:DescribeTags",
  "ec2:DescribeAvailabilityZones",
  "ec2:DescribeInstances",
  "ec2:DescribeInstanceTopology",
  "ec2:DescribeRegions",
  "ec2:DescribeRouteTables",
  "ec2:DescribeSecurityGroups",
  "ec2:DescribeSubnets",
  "ec2:DescribeVpcs",
  "elasticloadbalancing:DescribeListeners",
  "elasticloadbalancing:DescribeLoadBalancerAttributes",
  "elasticloadbalancing:DescribeLoadBalancerPolicies",
  "elasticloadbalancing:DescribeLoadBalancers",
  // Called from controller v1.34 on (target-group-attributes annotation), as in kops's unconditional list.
  "elasticloadbalancing:DescribeTargetGroupAttributes",
  "elasticloadbalancing:DescribeTargetGroups",
  "elasticloadbalancing:DescribeTargetHealth",
  "kms:DescribeKey",
];

/**
 * Changes the controller makes to what belongs to the cluster: the node security groups (tagged by Terraform) and the
 * load balancers and groups it created itself (tagged at creation). Scoped by the `kubernetes.io/cluster/<name>` tag,
 * as kops scopes the same controller (pkg/model/iam/iam_builder.go, AddCCMPermissions). Route and volume actions are
 * absent: flannel routes pods, and volumes are CSI drivers' business. So is ec2:ModifyInstanceAttribute: the
 * controller calls it only to turn off source/dest checks for its routes (pkg/providers/v1/aws_routes.go), and with
 * routes off it would only let a server's role change any node's security groups.
 */
export const CLOUD_CONTROLLER_CLUSTER_TAGGED_ACTIONS = [
  "ec2:AuthorizeSecurityGroupIngress",
  "ec2:DeleteSecurityGroup",
  "ec2:RevokeSecurityGroupIngress",
  "elasticloadbalancing:AddTags",
  "elasticloadbalancing:ApplySecurityGroupsToLoadBalancer",
  "elasticloadbalancing:AttachLoadBalancerToSubnets",
  "elasticloadbalancing:ConfigureHealthCheck",
  "elasticloadbalancing:CreateLoadBalancerListeners",
  "elasticloadbalancing:CreateLoadBalancerPolicy",
  "elasticloadbalancing:DeleteListener",
  "elasticloadbalancing:DeleteLoadBalancer",
  "elasticloadbalancing:DeleteLoadBalancerListeners",
  "elasticloadbalancing:DeleteTargetGroup",
  "elasticloadbalancing:DeregisterInstancesFromLoadBalancer",
  "elasticloadbalancing:DeregisterTargets",
  "elasticloadbalancing:DetachLoadBalancerFromSubnets",
  "elasticloadbalancing:ModifyListener",
  "elasticloadbalancing:ModifyLoadBalancerAttributes",
  "elasticloadbalancing:ModifyTargetGroup",
  "elasticloadbalancing:ModifyTargetGroupAttributes",
  "elasticloadbalancing:RegisterInstancesWithLoadBalancer",
  "elasticloadbalancing:RegisterTargets",
  "elasticloadbalancing:SetLoadBalancerPoliciesForBackendServer",
  "elasticloadbalancing:SetLoadBalancerPoliciesOfListener",
  "elasticloadbalancing:SetSecurityGroups",
];

/** Creations allowed only when the request tags the new resource as the cluster's. */
export const CLOUD_CONTROLLER_CREATE_ACTIONS = [
  "ec2:CreateSecurityGroup",
  "elasticloadbalancing:CreateListener",
  "elasticloadbalancing:CreateLoadBalancer",
  "elasticloadbalancing:CreateTargetGroup",
];

/** What the cloud provider needs on every node (cloud-provider-aws docs/prerequisites.md, node policy without ECR). */
export const CLOUD_NODE_ACTIONS = ["ec2:DescribeInstances", "ec2:DescribeRegions"];

/**
 * Session Manager, the only admin path: the SSM agent's calls for a session and nothing more, the actions of AWS's own
 * managed policy for just that (AWSCloud9SSMInstanceProfile) and of the Session Manager guide's custom instance
 * profile. Not AmazonSSMManagedInstanceCore: it also grants ssm:GetParameter and ssm:GetParameters on "*", every
 * parameter of the account, to any host-network pod that reads the node's credentials. No ECR policy: with
 * `cloud-provider=external` the kubelet has no built-in ECR credentials (cloud-provider-aws docs/getting_started.md)
 * and this project installs no credential provider, so an ECR grant would be unused privilege.
 */
export const SESSION_MANAGER_ACTIONS = [
  "ssm:UpdateInstanceInformation",
  "ssmmessages:CreateControlChannel",
  "ssmmessages:CreateDataChannel",
  "ssmmessages:OpenControlChannel",
  "ssmmessages:OpenDataChannel",
];

/** The cloud controller's statements, scoped to the cluster's tag and VPC. */
export function cloudControllerStatements(clusterName: string, partition: string, vpcId: string): DataAwsIamPolicyDocumentStatement[] {
  const clusterTag = clusterTagKey(clusterName);
  const ownedBy = (key: "aws:ResourceTag" | "aws:RequestTag") => ({ test: "StringEquals", variable: `${key}/${clusterTag}`, values: [CLUSTER_OWNED] });
  const untouchedClusterTag = { test: "Null", variable: `aws:RequestTag/${clusterTag}`, values: ["true"] };
  return [
    { sid: "Describe", actions: CLOUD_CONTROLLER_READ_ACTIONS, resources: ["*"] },
    { sid: "ChangeClusterResources", actions: CLOUD_CONTROLLER_CLUSTER_TAGGED_ACTIONS, resources: ["*"], condition: [ownedBy("aws:ResourceTag")] },
    { sid: "CreateTaggedForCluster", actions: CLOUD_CONTROLLER_CREATE_ACTIONS, resources: ["*"], condition: [ownedBy("aws:RequestTag")] },
    // CreateSecurityGroup is also authorised against the VPC, which carries no request tag: only this cluster's VPC.
    { sid: "CreateSecurityGroupInClusterVpc", actions: ["ec2:CreateSecurityGroup"], resources: [`arn:${partition}:ec2:*:*:vpc/${vpcId}`] },
    {
      sid: "TagSecurityGroupsOnCreate",
      actions: ["ec2:CreateTags"],
      resources: [`arn:${partition}:ec2:*:*:security-group/*`],
      condition: [ownedBy("aws:RequestTag"), { test: "StringEquals", variable: "ec2:CreateAction", values: ["CreateSecurityGroup"] }],
    },
    {
      sid: "TagLoadBalancersOnCreate",
      actions: ["elasticloadbalancing:AddTags"],
      resources: ["*"],
      condition: [ownedBy("aws:RequestTag"), { test: "StringEquals", variable: "elasticloadbalancing:CreateAction", values: ["CreateListener", "CreateLoadBalancer", "CreateTargetGroup"] }],
    },
    // Re-tagging the cluster's own security groups, never moving a resource into or out of the cluster. The request
    // must name its tags (EC2's DeleteTags without any "deletes all user-defined tags", the cluster's with them), and
    // none of them may be the cluster's tag.
    {
      sid: "RetagClusterSecurityGroups",
      actions: ["ec2:CreateTags", "ec2:DeleteTags"],
      resources: [`arn:${partition}:ec2:*:*:security-group/*`],
      condition: [
        ownedBy("aws:ResourceTag"),
        untouchedClusterTag,
        { test: "Null", variable: "aws:TagKeys", values: ["false"] },
        { test: "ForAllValues:StringNotEquals", variable: "aws:TagKeys", values: [clusterTag] },
      ],
    },
    {
      sid: "LoadBalancerServiceLinkedRole",
      actions: ["iam:CreateServiceLinkedRole"],
      resources: ["*"],
      condition: [{ test: "StringEquals", variable: "iam:AWSServiceName", values: ["elasticloadbalancing.amazonaws.com"] }],
    },
  ];
}

/**
 * The ARN of an auto scaling group built from its name, so a policy can name the group before the group exists
 * (the group's own ARN attribute would make the policy wait for it, and its first instances boot before the policy).
 */
export function autoScalingGroupArnPattern(partition: string, region: string, accountId: string, groupName: string): string {
  return `arn:${partition}:autoscaling:${region}:${accountId}:autoScalingGroup:*:autoScalingGroupName/${groupName}`;
}

export interface NodeRoleProps {
  /** IAM role and instance profile name; IAM names are account-global, so it includes the region. */
  readonly name: string;
  /** Inline policies by name, as policy JSON. */
  readonly inlinePolicies: Record<string, string>;
}

/** An EC2 role with inline policies only (every grant reviewable in the synthesised JSON) and an instance profile. */
export class NodeRole extends Construct {
  public readonly instanceProfileArn: string;
  /** The role's policies: a group whose instances use the role waits for these. */
  public readonly policies: ITerraformDependable[] = [];

  constructor(scope: Construct, id: string, props: NodeRoleProps) {
    super(scope, id);
    const assumeRole = new DataAwsIamPolicyDocument(this, "AssumeRole", {
      statement: [{ actions: ["sts:AssumeRole"], principals: [{ type: "Service", identifiers: ["ec2.amazonaws.com"] }] }],
    });
    PolicyExemption.of(assumeRole).exempt(
      "iam-service-source",
      "EC2 is not documented to set aws:SourceAccount or aws:SourceArn when it assumes an instance role " +
        "(prowler-cloud/prowler#2810 treats the missing condition as a false positive for that reason), and a condition it never meets " +
        "would lock every node out. The confused-deputy path is iam:PassRole, which cannot cross accounts: only principals of this " +
        "account allowed to pass the role can give it to an instance.",
    );
    const role = new IamRole(this, "Role", { name: props.name, assumeRolePolicy: assumeRole.json });
    for (const [name, policy] of Object.entries(props.inlinePolicies)) {
      this.policies.push(new IamRolePolicy(this, `Policy-${name}`, { role: role.id, name, policy }));
    }
    const profile = new IamInstanceProfile(this, "InstanceProfile", { name: props.name, role: role.name });
    this.instanceProfileArn = profile.arn;
  }
}
