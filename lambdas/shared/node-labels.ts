/**
 * Node labels and label values that the agents' bootstrap script, the autoscaler's node template and
 * cluster-autoscaler's group tags must spell alike.
 */

/**
 * The agent's EC2 purchase option, "spot" or "on-demand", set at boot by templates/agent.sh from the instance metadata
 * (instance-life-cycle). The kubelet may set labels under node.kubernetes.io/ on its own node (NodeRestriction
 * admission, Kubernetes docs "Well-Known Labels"); this key is the project's own. EKS managed node groups
 * (eks.amazonaws.com/capacityType) and Karpenter (karpenter.sh/capacity-type) each use their own.
 */
export const CAPACITY_TYPE_LABEL = "node.kubernetes.io/capacity-type";

/**
 * Kubernetes names architectures as Go does (GOARCH), in the kubelet's kubernetes.io/arch label; EC2 names them
 * arm64 and x86_64.
 */
export function kubernetesArchitecture(ec2Architecture: "arm64" | "x86_64"): "arm64" | "amd64" {
  return ec2Architecture === "x86_64" ? "amd64" : "arm64";
}
