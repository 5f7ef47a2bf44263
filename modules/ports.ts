/** Ports shared by the security groups, load balancers and user data, so the three cannot drift apart. */

/** Kubernetes API and k3s supervisor. */
export const KUBE_API_PORT = 6443;
/** kubelet API: metrics-server and `kubectl logs/exec` reach nodes here. */
export const KUBELET_PORT = 10250;
/** flannel VXLAN between nodes; never exposed outside the node security groups. */
export const FLANNEL_VXLAN_PORT = 8472;
/** Fixed NodePorts of the ingress controller's Service, targeted by the ingress load balancer. */
export const INGRESS_HTTP_NODE_PORT = 30080;
export const INGRESS_HTTPS_NODE_PORT = 30443;
export const POSTGRES_PORT = 5432;
export const NFS_PORT = 2049;
export const HTTPS_PORT = 443;
