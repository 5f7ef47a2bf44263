import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamInstanceProfile } from "@cdktf/provider-aws/lib/iam-instance-profile";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { Construct } from "constructs";

/**
 * What the AWS cloud controller manager needs on the control plane
 * (kubernetes/cloud-provider-aws docs/prerequisites.md). Its resources are not known in advance, hence "*".
 */
export const CLOUD_CONTROLLER_ACTIONS = [
  "autoscaling:DescribeAutoScalingGroups",
  "autoscaling:DescribeLaunchConfigurations",
  "autoscaling:DescribeTags",
  "ec2:DescribeInstances",
  "ec2:DescribeRegions",
  "ec2:DescribeRouteTables",
  "ec2:DescribeSecurityGroups",
  "ec2:DescribeSubnets",
  "ec2:DescribeVolumes",
  "ec2:DescribeAvailabilityZones",
  "ec2:DescribeVpcs",
  "ec2:DescribeInstanceTopology",
  "ec2:CreateSecurityGroup",
  "ec2:CreateTags",
  "ec2:CreateVolume",
  "ec2:ModifyInstanceAttribute",
  "ec2:ModifyVolume",
  "ec2:AttachVolume",
  "ec2:AuthorizeSecurityGroupIngress",
  "ec2:CreateRoute",
  "ec2:DeleteRoute",
  "ec2:DeleteSecurityGroup",
  "ec2:DeleteVolume",
  "ec2:DetachVolume",
  "ec2:RevokeSecurityGroupIngress",
  "elasticloadbalancing:AddTags",
  "elasticloadbalancing:AttachLoadBalancerToSubnets",
  "elasticloadbalancing:ApplySecurityGroupsToLoadBalancer",
  "elasticloadbalancing:CreateLoadBalancer",
  "elasticloadbalancing:CreateLoadBalancerPolicy",
  "elasticloadbalancing:CreateLoadBalancerListeners",
  "elasticloadbalancing:ConfigureHealthCheck",
  "elasticloadbalancing:DeleteLoadBalancer",
  "elasticloadbalancing:DeleteLoadBalancerListeners",
  "elasticloadbalancing:DescribeLoadBalancers",
  "elasticloadbalancing:DescribeLoadBalancerAttributes",
  "elasticloadbalancing:DetachLoadBalancerFromSubnets",
  "elasticloadbalancing:DeregisterInstancesFromLoadBalancer",
  "elasticloadbalancing:ModifyLoadBalancerAttributes",
  "elasticloadbalancing:RegisterInstancesWithLoadBalancer",
  "elasticloadbalancing:SetLoadBalancerPoliciesForBackendServer",
  "elasticloadbalancing:CreateListener",
  "elasticloadbalancing:CreateTargetGroup",
  "elasticloadbalancing:DeleteListener",
  "elasticloadbalancing:DeleteTargetGroup",
  "elasticloadbalancing:DescribeListeners",
  "elasticloadbalancing:DescribeLoadBalancerPolicies",
  "elasticloadbalancing:DescribeTargetGroups",
  "elasticloadbalancing:DescribeTargetHealth",
  "elasticloadbalancing:ModifyListener",
  "elasticloadbalancing:ModifyTargetGroup",
  "elasticloadbalancing:RegisterTargets",
  "elasticloadbalancing:DeregisterTargets",
  "elasticloadbalancing:SetLoadBalancerPoliciesOfListener",
  "elasticloadbalancing:SetSecurityGroups",
  "iam:CreateServiceLinkedRole",
  "kms:DescribeKey",
];

/** What the cloud provider needs on every node (image pulls come from the ECR read-only managed policy). */
export const CLOUD_NODE_ACTIONS = ["ec2:DescribeInstances", "ec2:DescribeRegions"];

/** AWS managed policies both roles carry: Session Manager (the only admin path) and ECR image pulls. */
export const MANAGED_NODE_POLICIES = ["AmazonSSMManagedInstanceCore", "AmazonEC2ContainerRegistryReadOnly"];

export interface NodeRoleProps {
  /** IAM role and instance profile name. */
  readonly name: string;
  /** AWS partition, for the managed policies' ARNs. */
  readonly partition: string;
  /** Inline policies by name, as policy JSON. */
  readonly inlinePolicies: Record<string, string>;
}

/** An EC2 role with the managed node policies, inline policies and an instance profile. */
export class NodeRole extends Construct {
  public readonly instanceProfileArn: string;

  constructor(scope: Construct, id: string, props: NodeRoleProps) {
    super(scope, id);
    const assumeRole = new DataAwsIamPolicyDocument(this, "AssumeRole", {
      statement: [{ actions: ["sts:AssumeRole"], principals: [{ type: "Service", identifiers: ["ec2.amazonaws.com"] }] }],
    });
    const role = new IamRole(this, "Role", { name: props.name, assumeRolePolicy: assumeRole.json });
    for (const policy of MANAGED_NODE_POLICIES) {
      new IamRolePolicyAttachment(this, policy, { role: role.name, policyArn: `arn:${props.partition}:iam::aws:policy/${policy}` });
    }
    for (const [name, policy] of Object.entries(props.inlinePolicies)) {
      new IamRolePolicy(this, `Policy-${name}`, { role: role.id, name, policy });
    }
    const profile = new IamInstanceProfile(this, "InstanceProfile", { name: props.name, role: role.name });
    this.instanceProfileArn = profile.arn;
  }
}
