import { Lb } from "@cdktf/provider-aws/lib/lb";
import { LbListener } from "@cdktf/provider-aws/lib/lb-listener";
import { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { Construct } from "constructs";
import { HTTP_PORT, HTTPS_PORT, INGRESS_HTTP_NODE_PORT, INGRESS_HTTPS_NODE_PORT, KUBE_API_PORT } from "../ports";

export interface LoadBalancingProps {
  /** Prefix of load balancer and target group names; at most 20 characters keeps every one within AWS's 32. */
  readonly clusterName: string;
  readonly vpcId: string;
  /** Subnets of the internal API load balancer. */
  readonly privateSubnetIds: string[];
  /** Subnets of the internet-facing load balancers. */
  readonly publicSubnetIds: string[];
  readonly apiSecurityGroupId: string;
  /**
   * Security group of the internet-facing ingress load balancer (TCP 80 and 443 to the ingress NodePorts); none is
   * created without it, as behind CloudFront, where a second way in would bypass the distribution.
   * @default undefined (no public ingress load balancer)
   */
  readonly ingressSecurityGroupId?: string;
  /**
   * Security group of an internet-facing API listener; none is created without it.
   * @default undefined (the API is reachable only inside the VPC)
   */
  readonly publicApiSecurityGroupId?: string;
  /** Refuse deletion through the AWS API; off only for throwaway clusters. */
  readonly deletionProtection: boolean;
  /**
   * An issued ACM certificate for the applications' name: the ingress load balancer's 443 listener then terminates
   * TLS with it and re-encrypts to the ingress controller's HTTPS NodePort.
   * @default undefined (TCP 443 passes through to the ingress controller's HTTPS NodePort)
   */
  readonly ingressCertificateArn?: string;
}

/**
 * The TLS listeners' security policy: TLS 1.3 and 1.2 with forward-secret ciphers only, the console's default for
 * new TLS and HTTPS listeners; listeners created through the API without one get ELBSecurityPolicy-2016-08, which
 * allows TLS 1.0 (Elastic Load Balancing, "Security policies for your Network Load Balancer" and "... Application
 * Load Balancer", docs.aws.amazon.com/elasticloadbalancing/latest/network/describe-ssl-policies.html).
 */
export const TLS_SECURITY_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06";

/** The AWS/NetworkELB dimensions of one target group's metrics (HealthyHostCount and UnHealthyHostCount). */
export interface TargetGroupMetricDimensions {
  /** The forward's construct ID ("Api", "PublicApi", "IngressHttp", ...), for the IDs of resources about it. */
  readonly id: string;
  /** The target group's role in its name ("api", "pubapi", "http", "https", "tls"). */
  readonly name: string;
  /** "targetgroup/<name>/<id>", the TargetGroup dimension. */
  readonly targetGroup: string;
  /** "net/<name>/<id>", the LoadBalancer dimension. */
  readonly loadBalancer: string;
  /** Whether the load balancer is internal (in the VPC only) rather than internet-facing. */
  readonly internal: boolean;
}

interface TcpForward {
  readonly id: string;
  /**
   * Target group name after the cluster name, before the port: the load balancer's role, or the ingress protocol.
   * At most 6 characters, so "<20-character cluster>-<name>-<5-digit port>" fits AWS's 32.
   */
  readonly name: string;
  readonly listenerPort: number;
  readonly targetPort: number;
  /**
   * TLS on both sides: the listener ends the client's TLS with this certificate, and the target group opens TLS to
   * the target. The group's name must then differ from the TCP one's ("tls", not "https"): the protocol is a replacing
   * argument, and the replacement is created before the old group releases its name.
   * @default undefined (TCP listener and target group)
   */
  readonly tls?: { readonly certificateArn: string };
}

/** Network load balancers: the Kubernetes API (internal, optionally public) and public ingress on 80/443. */
export class LoadBalancing extends Construct {
  /** DNS name of the internal API load balancer: the fixed registration address of every node. */
  public readonly apiDnsName: string;
  /** Target groups the server auto scaling group registers in. */
  public readonly apiTargetGroupArns: string[];
  /** The public ingress load balancer's DNS name and Route 53 zone (for alias records), when there is one. */
  public readonly ingress?: { readonly dnsName: string; readonly zoneId: string };
  /** Route 53 zone of the API load balancers' DNS names, for alias records. */
  public readonly apiZoneId: string;
  /** The internet-facing API load balancer's DNS name and Route 53 zone, when there is one. */
  public readonly publicApi?: { readonly dnsName: string; readonly zoneId: string };
  /** Target groups the agent auto scaling group registers in; none without the public ingress load balancer. */
  public readonly ingressTargetGroupArns: string[] = [];
  /** Metric dimensions of the API target groups (internal, then public when there is one), for alarms. */
  public readonly apiTargetMetrics: TargetGroupMetricDimensions[] = [];
  /** Metric dimensions of the ingress target groups (HTTP, then HTTPS or TLS). */
  public readonly ingressTargetMetrics: TargetGroupMetricDimensions[] = [];

  constructor(scope: Construct, id: string, private readonly props: LoadBalancingProps) {
    super(scope, id);
    const api = this.networkLoadBalancer("Api", "api", { internal: true, subnetIds: props.privateSubnetIds, securityGroupId: props.apiSecurityGroupId });
    const apiTargets = this.forwards(api, [{ id: "Api", name: "api", listenerPort: KUBE_API_PORT, targetPort: KUBE_API_PORT }], this.apiTargetMetrics);
    this.apiDnsName = api.dnsName;
    this.apiZoneId = api.zoneId;
    this.apiTargetGroupArns = apiTargets;

    if (props.publicApiSecurityGroupId) {
      const publicApi = this.networkLoadBalancer("PublicApi", "api-public", { internal: false, subnetIds: props.publicSubnetIds, securityGroupId: props.publicApiSecurityGroupId });
      this.apiTargetGroupArns = [...apiTargets, ...this.forwards(publicApi, [{ id: "PublicApi", name: "pubapi", listenerPort: KUBE_API_PORT, targetPort: KUBE_API_PORT }], this.apiTargetMetrics)];
      this.publicApi = { dnsName: publicApi.dnsName, zoneId: publicApi.zoneId };
    }

    if (!props.ingressSecurityGroupId) return;
    const ingress = this.networkLoadBalancer("Ingress", "ingress", { internal: false, subnetIds: props.publicSubnetIds, securityGroupId: props.ingressSecurityGroupId });
    // With a certificate TLS ends here and the load balancer opens a new TLS connection to Traefik's websecure entry
    // point, so Traefik still sees HTTPS: it sets X-Forwarded-Proto: https, Ingresses with spec.tls match, and plain
    // HTTP on 80 can be redirected (templates/manifests/traefik-node-ports.yaml). The load balancer does not validate
    // the targets' certificates, so Traefik's default one serves (Elastic Load Balancing, "Target groups for your
    // Network Load Balancers", Routing configuration). Without one, TCP 443 passes through to the same entry point.
    // One construct ID in both modes, so switching modes updates the :443 listener in place; two listeners on one port
    // with nothing ordering their delete and create fail with DuplicateListener. The target groups differ by name.
    const https: TcpForward = props.ingressCertificateArn
      ? { id: "IngressHttps", name: "tls", listenerPort: HTTPS_PORT, targetPort: INGRESS_HTTPS_NODE_PORT, tls: { certificateArn: props.ingressCertificateArn } }
      : { id: "IngressHttps", name: "https", listenerPort: HTTPS_PORT, targetPort: INGRESS_HTTPS_NODE_PORT };
    this.ingressTargetGroupArns = this.forwards(ingress, [{ id: "IngressHttp", name: "http", listenerPort: HTTP_PORT, targetPort: INGRESS_HTTP_NODE_PORT }, https], this.ingressTargetMetrics);
    this.ingress = { dnsName: ingress.dnsName, zoneId: ingress.zoneId };
  }

  private networkLoadBalancer(id: string, suffix: string, placement: { internal: boolean; subnetIds: string[]; securityGroupId: string }): Lb {
    return new Lb(this, `${id}LoadBalancer`, {
      name: `${this.props.clusterName}-${suffix}`,
      loadBalancerType: "network",
      internal: placement.internal,
      subnets: placement.subnetIds,
      securityGroups: [placement.securityGroupId],
      enableCrossZoneLoadBalancing: true,
      enableDeletionProtection: this.props.deletionProtection,
    });
  }

  /** Target groups with listeners; each group's metric dimensions are appended to `metrics`. */
  private forwards(loadBalancer: Lb, forwards: TcpForward[], metrics: TargetGroupMetricDimensions[]): string[] {
    return forwards.map((forward) => {
      const targetGroup = new LbTargetGroup(this, `${forward.id}TargetGroup`, {
        // Target group names are unique per account and region, and create_before_destroy (below) creates the
        // replacement while the old group still holds the name; the port, the one replacing argument that can
        // change here, is therefore part of the name (a fixed name fails with DuplicateTargetGroupName,
        // hashicorp/terraform-provider-aws#636, terraform-aws-modules/terraform-aws-alb#251).
        name: `${this.props.clusterName}-${forward.name}-${forward.targetPort}`,
        vpcId: this.props.vpcId,
        protocol: forward.tls ? "TLS" : "TCP",
        port: forward.targetPort,
        targetType: "instance",
        // With client IP preservation an instance that reaches itself through the NLB (a server joining via the
        // registration address) times out; off, the source is the NLB, which the target security groups admit.
        preserveClientIp: "false",
        deregistrationDelay: "30",
        healthCheck: { protocol: "TCP", port: "traffic-port", interval: 10, healthyThreshold: 3, unhealthyThreshold: 3 },
        // A group in use by a listener cannot be deleted, so its replacement (under a new name) must exist first.
        lifecycle: { createBeforeDestroy: true },
      });
      new LbListener(this, `${forward.id}Listener`, {
        loadBalancerArn: loadBalancer.arn,
        port: forward.listenerPort,
        ...(forward.tls ? { protocol: "TLS", certificateArn: forward.tls.certificateArn, sslPolicy: TLS_SECURITY_POLICY } : { protocol: "TCP" }),
        defaultAction: [{ type: "forward", targetGroupArn: targetGroup.arn }],
      });
      metrics.push({ id: forward.id, name: forward.name, targetGroup: targetGroup.arnSuffix, loadBalancer: loadBalancer.arnSuffix, internal: loadBalancer.internalInput === true });
      return targetGroup.arn;
    });
  }
}
