/**
 * The tag that marks what belongs to the cluster: the cloud controller finds its cluster's subnets, security groups and
 * instances by it (kubernetes/cloud-provider-aws pkg/providers/v1/tags.go, `kubernetes.io/cluster/<id>`), and the
 * servers' IAM policy lets it change only what carries it. Networking tags with it, compute tags instances with it,
 * and the IAM conditions name it: one definition, so the tag and the policy cannot drift apart.
 */
export function clusterTagKey(clusterName: string): string {
  return `kubernetes.io/cluster/${clusterName}`;
}

/**
 * The tag's values (cloud-provider-aws pkg/providers/v1/tags.go, ResourceLifecycleOwned and ResourceLifecycleShared):
 * an "owned" resource belongs to this cluster alone, and the cloud controller may change or delete it; a "shared" one
 * it only uses.
 */
export type ClusterTagValue = "owned" | "shared";

/** What the servers' IAM policy admits the cloud controller to change: only resources this cluster owns. */
export const CLUSTER_OWNED: ClusterTagValue = "owned";

/** The cluster tag as a resource's tags: `{ "kubernetes.io/cluster/<name>": value }`. */
export function clusterTag(clusterName: string, value: ClusterTagValue): Record<string, string> {
  return { [clusterTagKey(clusterName)]: value };
}
