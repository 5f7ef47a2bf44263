/**
 * Ports and in-cluster names shared by the security groups, network ACLs, load balancers, user data and manifests,
 * so none of them can drift apart. The templates receive them as placeholders and spell none of them.
 */

/** Kubernetes API and k3s supervisor; k3s's default https-listen-port, which its own kubeconfig names. */
export const KUBE_API_PORT = 6443;
/** kubelet API: metrics-server and `kubectl logs/exec` reach nodes here. */
export const KUBELET_PORT = 10250;
/** flannel VXLAN between nodes; never exposed outside the node security groups. */
export const FLANNEL_VXLAN_PORT = 8472;
/** Public ingress listeners, and HTTPS to AWS APIs. */
export const HTTP_PORT = 80;
export const HTTPS_PORT = 443;
/** Fixed NodePorts of the ingress controller's Service, targeted by the ingress load balancer. */
export const INGRESS_HTTP_NODE_PORT = 30080;
export const INGRESS_HTTPS_NODE_PORT = 30443;
export const POSTGRES_PORT = 5432;
/** prometheus-node-exporter's metrics port on each node's own network (chart values: hostNetwork, service.port 9100). */
export const NODE_EXPORTER_PORT = 9100;
export const NFS_PORT = 2049;

/** The automation service account's token Secret: created by its manifest, read by the server script. */
export const AUTOMATION_TOKEN_SECRET = { namespace: "kube-system", name: "cluster-automation-token" } as const;
