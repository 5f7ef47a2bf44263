import { DataAwsEc2ManagedPrefixList } from "@cdktf/provider-aws/lib/data-aws-ec2-managed-prefix-list";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Construct } from "constructs";
import { CLUSTER_OWNED, clusterTag } from "../cluster-tag";
import { FLANNEL_VXLAN_PORT, HTTPS_PORT, HTTP_PORT, INGRESS_HTTPS_NODE_PORT, INGRESS_HTTP_NODE_PORT, KUBELET_PORT, KUBE_API_PORT, NFS_PORT, NODE_EXPORTER_PORT, POSTGRES_PORT } from "../ports";

export interface ClusterSecurityGroupsProps {
  readonly clusterName: string;
  readonly vpcId: string;
  /** Networks allowed to the public Kubernetes API listener; no public API security group when empty. */
  readonly adminCidrs: string[];
  /**
   * A group for the CloudFront origin load balancer, admitting CloudFront's origin-facing servers and these admin
   * networks; none without it.
   * @default undefined (no CloudFront origin)
   */
  readonly cloudFrontOrigin?: { readonly adminCidrs: string[] };
  /**
   * Node exporter's port between all nodes: Prometheus, on the pod network, scrapes each node's host-network exporter,
   * and flannel sends that traffic from the Prometheus node's own address.
   */
  readonly nodeMetrics: boolean;
}

/**
 * CloudFront's managed prefix list of its origin-facing servers (IPv4); AWS keeps it current, and its ID differs by
 * region, so it is read by name (Amazon CloudFront Developer Guide, LocationsOfEdgeServers.html#managed-prefix-list).
 */
export const CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing";

/** Where a rule admits traffic from, or sends it to. */
type Peer = { securityGroup: SecurityGroup } | { cidr: string } | { prefixListId: string };

interface Rule {
  readonly id: string;
  readonly description: string;
  readonly protocol: "tcp" | "udp" | "-1";
  readonly port?: number;
  readonly peer: Peer;
}

export const ANYWHERE = "0.0.0.0/0";

/**
 * One security group per role, with rules that follow k3s's port requirements
 * (https://docs.k3s.io/installation/requirements#networking). No rule admits SSH: Session Manager is the admin path,
 * and 0.0.0.0/0 ingress exists only on the public ingress load balancer's listener ports. With `cloudFrontOrigin`
 * there is no public ingress load balancer (nor its group): the world-open path to the ingress NodePorts would bypass
 * CloudFront, its web ACL and the origin header.
 */
export class ClusterSecurityGroups extends Construct {
  public readonly server: SecurityGroup;
  public readonly agent: SecurityGroup;
  /** Internal network load balancer in front of the servers' API. */
  public readonly apiLoadBalancer: SecurityGroup;
  /** Internet-facing API listener, only when admin CIDRs are configured. */
  public readonly publicApiLoadBalancer?: SecurityGroup;
  /** The public ingress network load balancer; none with `cloudFrontOrigin`. */
  public readonly ingressLoadBalancer?: SecurityGroup;
  public readonly lambda: SecurityGroup;
  public readonly database: SecurityGroup;
  public readonly efs: SecurityGroup;
  /** The CloudFront origin load balancer, only with `cloudFrontOrigin`. */
  public readonly cloudFrontOrigin?: SecurityGroup;

  constructor(scope: Construct, id: string, props: ClusterSecurityGroupsProps) {
    super(scope, id);
    const owned = clusterTag(props.clusterName, CLUSTER_OWNED);
    const group = (groupId: string, suffix: string, description: string, tags: Record<string, string> = {}) =>
      new SecurityGroup(this, groupId, {
        name: `${props.clusterName}-${suffix}`,
        description,
        vpcId: props.vpcId,
        revokeRulesOnDelete: true,
        tags: { Name: `${props.clusterName}-${suffix}`, ...tags },
      });

    // The cloud provider adds load-balancer rules to the one group per instance that carries the cluster tag.
    this.server = group("Server", "server", "k3s servers", owned);
    this.agent = group("Agent", "agent", "k3s agents", owned);
    this.apiLoadBalancer = group("ApiLoadBalancer", "api-lb", "Internal Kubernetes API load balancer");
    this.lambda = group("Lambda", "lambda", "Cluster automation Lambdas");
    this.database = group("Database", "database", "k3s datastore (RDS PostgreSQL)");
    this.efs = group("Efs", "efs", "EFS mount targets");

    const nodes = [
      { name: "Server", securityGroup: this.server },
      { name: "Agent", securityGroup: this.agent },
    ];
    for (const target of nodes) {
      for (const source of nodes) {
        this.ingress(target.securityGroup, [
          { id: `KubeletFrom${source.name}`, description: `kubelet from ${source.name.toLowerCase()}s`, protocol: "tcp", port: KUBELET_PORT, peer: { securityGroup: source.securityGroup } },
          { id: `FlannelFrom${source.name}`, description: `flannel VXLAN from ${source.name.toLowerCase()}s`, protocol: "udp", port: FLANNEL_VXLAN_PORT, peer: { securityGroup: source.securityGroup } },
          ...(props.nodeMetrics
            ? [{ id: `NodeExporterFrom${source.name}`, description: `node exporter metrics from ${source.name.toLowerCase()}s`, protocol: "tcp" as const, port: NODE_EXPORTER_PORT, peer: { securityGroup: source.securityGroup } }]
            : []),
        ]);
      }
      this.egress(target.securityGroup, [{ id: "All", description: "Images, AWS APIs and the datastore", protocol: "-1", peer: { cidr: ANYWHERE } }]);
    }

    // Agents open their tunnels to every server directly, not only through the load balancer.
    this.ingress(this.server, [
      { id: "ApiFromApiLoadBalancer", description: "Kubernetes API from the internal load balancer", protocol: "tcp", port: KUBE_API_PORT, peer: { securityGroup: this.apiLoadBalancer } },
      { id: "ApiFromAgent", description: "k3s supervisor and API from agents", protocol: "tcp", port: KUBE_API_PORT, peer: { securityGroup: this.agent } },
      { id: "ApiFromServer", description: "k3s supervisor and API between servers", protocol: "tcp", port: KUBE_API_PORT, peer: { securityGroup: this.server } },
    ]);

    this.ingress(this.apiLoadBalancer, [
      { id: "ApiFromServer", description: "Kubernetes API from servers", protocol: "tcp", port: KUBE_API_PORT, peer: { securityGroup: this.server } },
      { id: "ApiFromAgent", description: "Kubernetes API from agents", protocol: "tcp", port: KUBE_API_PORT, peer: { securityGroup: this.agent } },
      { id: "ApiFromLambda", description: "Kubernetes API from the automation Lambdas", protocol: "tcp", port: KUBE_API_PORT, peer: { securityGroup: this.lambda } },
    ]);
    this.egress(this.apiLoadBalancer, [{ id: "ApiToServer", description: "Kubernetes API on the servers", protocol: "tcp", port: KUBE_API_PORT, peer: { securityGroup: this.server } }]);

    if (!props.cloudFrontOrigin) this.ingressLoadBalancer = this.publicIngress(group("IngressLoadBalancer", "ingress-lb", "Public ingress load balancer"));

    this.egress(this.lambda, [
      { id: "ApiToApiLoadBalancer", description: "Kubernetes API through the internal load balancer", protocol: "tcp", port: KUBE_API_PORT, peer: { securityGroup: this.apiLoadBalancer } },
      { id: "HttpsToAnywhere", description: "AWS APIs through NAT", protocol: "tcp", port: HTTPS_PORT, peer: { cidr: ANYWHERE } },
    ]);

    this.ingress(this.database, [
      { id: "PostgresFromServer", description: "k3s datastore from servers", protocol: "tcp", port: POSTGRES_PORT, peer: { securityGroup: this.server } },
    ]);

    this.ingress(this.efs, [
      { id: "NfsFromServer", description: "NFS from servers", protocol: "tcp", port: NFS_PORT, peer: { securityGroup: this.server } },
      { id: "NfsFromAgent", description: "NFS from agents", protocol: "tcp", port: NFS_PORT, peer: { securityGroup: this.agent } },
    ]);

    if (props.adminCidrs.length > 0) {
      const publicApi = group("PublicApiLoadBalancer", "public-api-lb", "Internet-facing Kubernetes API, admin networks only");
      this.publicApiLoadBalancer = publicApi;
      this.ingress(
        publicApi,
        props.adminCidrs.map((cidr, index) => ({ id: `ApiFromAdmin${index}`, description: `Kubernetes API from admin network ${cidr}`, protocol: "tcp", port: KUBE_API_PORT, peer: { cidr } })),
      );
      this.egress(publicApi, [{ id: "ApiToServer", description: "Kubernetes API on the servers", protocol: "tcp", port: KUBE_API_PORT, peer: { securityGroup: this.server } }]);
      this.ingress(this.server, [
        { id: "ApiFromPublicApiLoadBalancer", description: "Kubernetes API from the public load balancer", protocol: "tcp", port: KUBE_API_PORT, peer: { securityGroup: publicApi } },
      ]);
    }

    if (props.cloudFrontOrigin) {
      const prefixList = new DataAwsEc2ManagedPrefixList(this, "CloudFrontOriginFacing", { name: CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST });
      const origin = group("CloudFrontOrigin", "cf-origin-lb", "CloudFront origin load balancer: CloudFront and admin networks only");
      this.cloudFrontOrigin = origin;
      // CloudFront reaches the origin over HTTPS only; admins may also try HTTP, which redirects. One rule for the prefix
      // list: it counts as its weight (55) against the group's 60 rules.
      this.ingress(origin, [
        { id: "HttpsFromCloudFront", description: "HTTPS from CloudFront's origin-facing servers", protocol: "tcp", port: HTTPS_PORT, peer: { prefixListId: prefixList.id } },
        ...props.cloudFrontOrigin.adminCidrs.flatMap((cidr, index): Rule[] => [
          { id: `HttpsFromAdmin${index}`, description: `HTTPS from admin network ${cidr}`, protocol: "tcp", port: HTTPS_PORT, peer: { cidr } },
          { id: `HttpFromAdmin${index}`, description: `HTTP (redirected) from admin network ${cidr}`, protocol: "tcp", port: HTTP_PORT, peer: { cidr } },
        ]),
      ]);
      // The origin load balancer forwards over HTTPS to Traefik's websecure NodePort only (modules/front-door).
      this.egress(origin, [{ id: "HttpsNodePortToAgent", description: "Ingress HTTPS NodePort on the agents", protocol: "tcp", port: INGRESS_HTTPS_NODE_PORT, peer: { securityGroup: this.agent } }]);
      this.ingress(this.agent, [
        { id: "HttpsNodePortFromCloudFrontOrigin", description: "Ingress HTTPS NodePort from the CloudFront origin load balancer", protocol: "tcp", port: INGRESS_HTTPS_NODE_PORT, peer: { securityGroup: origin } },
      ]);
    }
  }

  /**
   * The world on 80 and 443, to the ingress NodePorts on the agents: 443 reaches the HTTPS one whether TLS passes
   * through or the load balancer re-encrypts (modules/load-balancing).
   */
  private publicIngress(loadBalancer: SecurityGroup): SecurityGroup {
    const nodePorts = [
      { name: "Http", label: "HTTP", port: INGRESS_HTTP_NODE_PORT },
      { name: "Https", label: "HTTPS", port: INGRESS_HTTPS_NODE_PORT },
    ];
    this.ingress(
      this.agent,
      nodePorts.map((nodePort) => ({ id: `${nodePort.name}NodePortFromIngressLoadBalancer`, description: `Ingress ${nodePort.label} NodePort from the ingress load balancer`, protocol: "tcp", port: nodePort.port, peer: { securityGroup: loadBalancer } })),
    );
    this.ingress(loadBalancer, [
      { id: "HttpFromAnywhere", description: "Public HTTP", protocol: "tcp", port: HTTP_PORT, peer: { cidr: ANYWHERE } },
      { id: "HttpsFromAnywhere", description: "Public HTTPS", protocol: "tcp", port: HTTPS_PORT, peer: { cidr: ANYWHERE } },
    ]);
    this.egress(
      loadBalancer,
      nodePorts.map((nodePort) => ({ id: `${nodePort.name}NodePortToAgent`, description: `Ingress ${nodePort.label} NodePort on the agents`, protocol: "tcp", port: nodePort.port, peer: { securityGroup: this.agent } })),
    );
    return loadBalancer;
  }

  private ingress(group: SecurityGroup, rules: Rule[]) {
    for (const rule of rules) new VpcSecurityGroupIngressRule(group, `Ingress${rule.id}`, ruleConfig(group, rule));
  }

  private egress(group: SecurityGroup, rules: Rule[]) {
    for (const rule of rules) new VpcSecurityGroupEgressRule(group, `Egress${rule.id}`, ruleConfig(group, rule));
  }
}

function ruleConfig(group: SecurityGroup, rule: Rule) {
  return {
    securityGroupId: group.id,
    description: rule.description,
    ipProtocol: rule.protocol,
    fromPort: rule.port,
    toPort: rule.port,
    ...("cidr" in rule.peer ? { cidrIpv4: rule.peer.cidr } : "prefixListId" in rule.peer ? { prefixListId: rule.peer.prefixListId } : { referencedSecurityGroupId: rule.peer.securityGroup.id }),
  };
}
