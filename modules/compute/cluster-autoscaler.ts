import { DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { kubernetesArchitecture } from "../../lambdas/shared/node-labels";
import { fillPlaceholders, kubernetesMinorImageTag, readTemplate, SERVER_TAINT } from "./user-data";
import type { Architecture } from ".";

/**
 * What upstream cluster-autoscaler needs to size the agents' group (scaling mode "cluster-autoscaler"): the tags it
 * discovers the group and its node template by, its IAM statements and its chart manifest. References are to
 * kubernetes/autoscaler, cluster-autoscaler/cloudprovider/aws/README.md, unless named otherwise.
 */

/** The discovery tag naming the cluster; it keeps another cluster's autoscaler in the account and region off the group. */
const clusterTagKey = (clusterName: string) => `k8s.io/cluster-autoscaler/${clusterName}`;
const CLUSTER_TAG_VALUE = "owned";

/** The group tags `--node-group-auto-discovery=asg:tag=...` looks for ("Auto-Discovery Setup"); only the keys count. */
export function clusterAutoscalerDiscoveryTags(clusterName: string): Record<string, string> {
  return { "k8s.io/cluster-autoscaler/enabled": "true", [clusterTagKey(clusterName)]: CLUSTER_TAG_VALUE };
}

/**
 * Node template hints: what a new agent will carry, read from the group's tags when it has no node to copy
 * (scale from zero). Only what every agent gets alike: the capacity-type label is set per instance at boot from
 * its lifecycle, and the group mixes spot and on-demand, so a hint would promise one value for both. Agents have no
 * taints, so no taint hint.
 */
export function clusterAutoscalerNodeTemplateTags(architecture: Architecture, rootVolumeGb: number): Record<string, string> {
  const prefix = "k8s.io/cluster-autoscaler/node-template";
  return {
    [`${prefix}/label/kubernetes.io/arch`]: kubernetesArchitecture(architecture),
    [`${prefix}/label/kubernetes.io/os`]: "linux",
    // The instance type gives CPU and memory but not disk; without this a pod requesting ephemeral storage would
    // never fit the template. The root volume holds the kubelet's directory. cluster-autoscaler takes the value as
    // allocatable as well as capacity (aws_manager.go buildNodeFromTemplate), but a real agent's allocatable is its
    // file system less k3s's kubelet eviction threshold nodefs.available<5% (k3s pkg/daemons/agent/agent_linux.go),
    // and the file system is a little smaller than the volume: 94 % of the disk, so no pod that a new agent could
    // not take triggers a scale-up from zero.
    [`${prefix}/resources/ephemeral-storage`]: `${Math.floor(rootVolumeGb * 1024 * 0.94)}Mi`,
  };
}

/**
 * The calls the AWS cloud provider makes for a group like the agents' (a mixed-instances policy listing instance
 * types), in cluster-autoscaler 1.33 to 1.35 (cloudprovider/aws/aws_wrapper.go, auto_scaling_groups.go, aws_util.go).
 * The README's full policy lists more, each for a setup this cluster does not have: DescribeLaunchConfigurations
 * (launch configurations), ec2:DescribeLaunchTemplateVersions (a group without instance-type overrides; it would also
 * let the servers read every launch template's user data in the account), ec2:DescribeImages and
 * ec2:GetInstanceTypesFromInstanceRequirements (attribute-based instance selection), eks:DescribeNodegroup (EKS
 * managed node groups); DescribeAutoScalingInstances is listed but never called. Describe calls take no resource.
 */
const READ_ACTIONS = [
  "autoscaling:DescribeAutoScalingGroups",
  "autoscaling:DescribeScalingActivities",
  "ec2:DescribeInstanceTypes",
];

/**
 * Scaling is limited to the agents' group twice, as the README's "IAM Policy" recommends either way: by the group's ARN,
 * and by the cluster's discovery tag, which the group carries only while it is in this mode.
 */
export function clusterAutoscalerStatements(clusterName: string, agentGroupArn: string): DataAwsIamPolicyDocumentStatement[] {
  return [
    { sid: "DiscoverGroupsAndInstanceTypes", actions: READ_ACTIONS, resources: ["*"] },
    {
      sid: "ScaleAgents",
      actions: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
      resources: [agentGroupArn],
      condition: [{ test: "StringEquals", variable: `aws:ResourceTag/${clusterTagKey(clusterName)}`, values: [CLUSTER_TAG_VALUE] }],
    },
  ];
}

/** The HelmChart manifest the servers deploy, filled in; its placeholders are its own. */
export function clusterAutoscalerManifest(clusterName: string, region: string, k3sVersion: string): string {
  return fillPlaceholders(
    readTemplate("manifests/cluster-autoscaler.yaml").trimEnd(),
    {
      CLUSTER_NAME: clusterName,
      AWS_REGION: region,
      // JSON is YAML's flow style, and quotes whatever a key holds.
      DISCOVERY_TAGS: JSON.stringify(Object.keys(clusterAutoscalerDiscoveryTags(clusterName))),
      // Upstream tests each release against its own Kubernetes minor only (cluster-autoscaler/README.md, "Releases"),
      // and its scheduling simulation is that minor's scheduler code: chosen from the servers' release at synth.
      IMAGE_TAG: kubernetesMinorImageTag(k3sVersion),
      // It runs on the servers, so it tolerates their taint.
      SERVER_TAINT_KEY: SERVER_TAINT.key,
    },
    "manifests/cluster-autoscaler.yaml",
  );
}
