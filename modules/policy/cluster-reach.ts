import { IConstruct } from "constructs";
import { HTTP_PORT, HTTPS_PORT } from "../ports";
import { NetworkReach } from "./options";

/** The cluster's security groups whose reach goes beyond other security groups. */
export interface ClusterSecurityGroupRoles {
  readonly server: IConstruct;
  readonly agent: IConstruct;
  readonly lambda: IConstruct;
  /** The public ingress load balancer's group; absent behind CloudFront, and then nothing is open to the world. */
  readonly ingressLoadBalancer?: IConstruct;
}

const IPV4_ANYWHERE = "0.0.0.0/0";

/**
 * The documented table (README, "Networking and security groups"): what the world may reach, and where the groups
 * may send traffic other than to another security group. Every other rule names a security group on both ends; the
 * public API listener admits `api.adminCidrs` only, which are never the whole internet.
 */
export function clusterNetworkReach(groups: ClusterSecurityGroupRoles): NetworkReach {
  return {
    publicIngress: groups.ingressLoadBalancer
      ? [{ securityGroup: groups.ingressLoadBalancer, protocol: "tcp", ports: [HTTP_PORT, HTTPS_PORT], why: "the public ingress load balancer's HTTP and HTTPS listeners" }]
      : [],
    egress: [
      // Nodes pull images and the k3s installer, call AWS APIs and fetch the RDS CA bundle through NAT, on whatever
      // ports registries and mirrors use.
      { securityGroup: groups.server, protocol: "-1", cidr: IPV4_ANYWHERE, why: "images, installer, AWS APIs and the RDS CA bundle through NAT" },
      { securityGroup: groups.agent, protocol: "-1", cidr: IPV4_ANYWHERE, why: "images and AWS APIs through NAT" },
      { securityGroup: groups.lambda, protocol: "tcp", port: HTTPS_PORT, cidr: IPV4_ANYWHERE, why: "AWS APIs through NAT" },
    ],
  };
}
