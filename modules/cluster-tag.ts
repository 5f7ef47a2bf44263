/**
 * The tag that marks what belongs to the cluster: the cloud controller finds its cluster's subnets, security groups and
 * instances by it (kubernetes/cloud-provider-aws pkg/providers/v1/tags.go, `kubernetes.io/cluster/<id>`), and the
 * servers' IAM policy lets it change only what carries it. Networking tags with it, compute tags instances with it,
 * and the IAM conditions name it: one definition, so the tag and the policy cannot drift apart.
 */
export function clusterTagKey(clusterName: string): string {
  return `kubernetes.io/cluster/${clusterName}`;
}
