import { CloudfrontDistribution } from "@cdktf/provider-aws/lib/cloudfront-distribution";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { LbListener } from "@cdktf/provider-aws/lib/lb-listener";
import { LbListenerRule } from "@cdktf/provider-aws/lib/lb-listener-rule";
import { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { SecretsmanagerSecretVersion } from "@cdktf/provider-aws/lib/secretsmanager-secret-version";
import { Password } from "@cdktf/provider-random/lib/password";
import { TerraformProvider } from "cdktf";
import { Construct } from "constructs";
import { AliasTarget, DnsValidatedCertificate, DnsValidation } from "../domain";
import { TLS_SECURITY_POLICY } from "../load-balancing";
import { PolicyExemption } from "../policy";
import { HTTP_PORT, HTTPS_PORT, INGRESS_HTTPS_NODE_PORT } from "../ports";

/** The header CloudFront adds to every origin request, and the only way past the origin's listener. */
export const ORIGIN_HEADER_NAME = "X-Origin-Verify";

/**
 * Managed policies by their documented IDs, which are the same in every account (Amazon CloudFront Developer Guide,
 * "Use managed cache policies" and "Use managed origin request policies"): no caching, and every viewer header,
 * cookie and query string to the origin, Host included, so the origin sees the viewer's name and its certificate
 * for that name is what CloudFront checks.
 */
export const CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
export const ALL_VIEWER_ORIGIN_REQUEST_POLICY_ID = "216adef6-5c7f-47e4-b989-5492eafa07d3";

/**
 * Route 53's zone for every CloudFront alias target (Route 53 API reference, AliasTarget: "Specify Z2FDTNDATAQYW2"
 * for a CloudFront distribution); used for a distribution this project does not create.
 */
export const CLOUDFRONT_HOSTED_ZONE_ID = "Z2FDTNDATAQYW2";

/**
 * How CloudFront reaches the origin: HTTPS only, TLS 1.2 (the origin listener's policy refuses older), the listener's
 * port. CloudFront checks the origin's certificate against the Host header it forwards (AllViewer forwards the
 * viewer's, `fqdn`), which is the name the regional certificate is for.
 */
const ORIGIN_CONNECTION = { originProtocolPolicy: "https-only", originSslProtocols: ["TLSv1.2"], httpsPort: HTTPS_PORT } as const;

/** Viewers asking over HTTP are redirected to HTTPS. */
const VIEWER_PROTOCOL_POLICY = "redirect-to-https";

/** CloudFront's viewer policy: TLS 1.2 or newer with the 2021 ciphers (Developer Guide, secure-connections-supported-viewer-protocols-ciphers). */
export const VIEWER_MINIMUM_PROTOCOL = "TLSv1.2_2021";

export interface FrontDoorProps {
  /** Prefix of the load balancer and target group names; at most 20 characters keeps them within AWS's 32. */
  readonly clusterName: string;
  readonly vpcId: string;
  /** Subnets of the internet-facing origin load balancer. */
  readonly publicSubnetIds: string[];
  /** Admits CloudFront's origin-facing servers and the admin networks only. */
  readonly securityGroupId: string;
  /** Name the distribution serves, and the origin's certificate is for. */
  readonly fqdn: string;
  /**
   * Further names the distribution serves (its aliases and certificate): the add-ons' `<host>.<fqdn>`. They reach the
   * origin with their own Host, which the regional certificate must cover too (Domain's extraNames).
   */
  readonly extraNames: string[];
  /** Issued regional certificate for `fqdn`, on the origin's HTTPS listener. */
  readonly originCertificateArn: string;
  /** Public zone of `fqdn`. */
  readonly zoneId: string;
  /** The regional certificate's DNS validation, which the viewer certificate reuses. */
  readonly originCertificateValidation: DnsValidation;
  /**
   * Provider for us-east-1, where CloudFront's certificates must be; required unless `existingDistributionDomainName`.
   * @default undefined
   */
  readonly usEast1Provider?: TerraformProvider;
  /**
   * WAF web ACL (scope CLOUDFRONT) of the distribution.
   * @default undefined (no web ACL)
   */
  readonly webAclArn?: string;
  /**
   * Domain name of a distribution the user manages: none is created, and `distribution` points at it.
   * @default undefined (a distribution is created)
   */
  readonly existingDistributionDomainName?: string;
  /** Deletion protection of the load balancer and the secret's recovery window; off only for throwaway clusters. */
  readonly protectData: boolean;
}

/**
 * CloudFront in front of the ingress: an internet-facing Application Load Balancer that answers 403 unless a request
 * carries the secret origin header CloudFront adds, forwarding over HTTPS to the ingress controller's HTTPS NodePort, and the
 * distribution (or the user's own) for `fqdn`.
 */
export class FrontDoor extends Construct {
  /** Target group the agent auto scaling group registers in. */
  public readonly targetGroupArn: string;
  /** DNS name of the origin load balancer, for a distribution the user manages. */
  public readonly originDnsName: string;
  /** Secret holding the origin header's value. */
  public readonly originSecretArn: string;
  /** What `fqdn` points at: the distribution. */
  public readonly distribution: AliasTarget;
  /**
   * What a distribution the user manages needs for this origin (with `existingDistributionDomainName`): the same
   * settings as the distribution created here, by CloudFront's API names, and where the header's value is kept.
   */
  public readonly distributionSettings: Record<string, string | number | string[]>;
  /** ID of the created distribution, if one is created. */
  public readonly distributionId?: string;
  /** ARN of the us-east-1 viewer certificate, if a distribution is created. */
  public readonly viewerCertificateArn?: string;

  constructor(scope: Construct, id: string, props: FrontDoorProps) {
    super(scope, id);
    const { clusterName } = props;

    // The shared secret between CloudFront and the origin: generated, kept in Secrets Manager for the user, and
    // otherwise only in the two resources that must hold it (exempted below).
    const originSecretValue = new Password(this, "OriginHeaderValue", { length: 48, special: false });
    const originSecret = new SecretsmanagerSecret(this, "OriginHeaderSecret", {
      namePrefix: `${clusterName}/cloudfront-origin-header-`,
      description: `Value of the ${ORIGIN_HEADER_NAME} header CloudFront sends to the origin load balancer`,
      recoveryWindowInDays: props.protectData ? 7 : 0,
    });
    new SecretsmanagerSecretVersion(this, "OriginHeaderSecretValue", { secretId: originSecret.id, secretString: originSecretValue.result });
    this.originSecretArn = originSecret.arn;

    const loadBalancer = new Lb(this, "LoadBalancer", {
      name: `${clusterName}-cf-origin`,
      loadBalancerType: "application",
      internal: false,
      subnets: props.publicSubnetIds,
      securityGroups: [props.securityGroupId],
      // Requests with malformed headers are dropped rather than passed to the ingress controller.
      dropInvalidHeaderFields: true,
      enableDeletionProtection: props.protectData,
    });
    this.originDnsName = loadBalancer.dnsName;

    const targetGroup = new LbTargetGroup(this, "TargetGroup", {
      // The port is in the name for the same reason as the ingress target groups' (modules/load-balancing).
      name: `${clusterName}-cf-${INGRESS_HTTPS_NODE_PORT}`,
      vpcId: props.vpcId,
      // Traefik's websecure entry point: routers of Ingresses with spec.tls serve only TLS connections, and Traefik
      // keeps the load balancer's X-Forwarded-Proto (https) on it. The load balancer does not validate the target's
      // certificate (Elastic Load Balancing, "Target groups for your Application Load Balancers"), so Traefik's
      // default certificate will do.
      protocol: "HTTPS",
      port: INGRESS_HTTPS_NODE_PORT,
      targetType: "instance",
      deregistrationDelay: "30",
      // Traefik answers 404 for a host no route serves: still an answer from a working ingress controller.
      healthCheck: { protocol: "HTTPS", path: "/", matcher: "200-404", interval: 15, healthyThreshold: 3, unhealthyThreshold: 3 },
      lifecycle: { createBeforeDestroy: true },
    });
    this.targetGroupArn = targetGroup.arn;

    const https = new LbListener(this, "HttpsListener", {
      loadBalancerArn: loadBalancer.arn,
      protocol: "HTTPS",
      port: HTTPS_PORT,
      certificateArn: props.originCertificateArn,
      sslPolicy: TLS_SECURITY_POLICY,
      // Anything that did not come through CloudFront.
      defaultAction: [{ type: "fixed-response", fixedResponse: { contentType: "text/plain", statusCode: "403", messageBody: "Forbidden" } }],
    });
    const forwardFromCloudFront = new LbListenerRule(this, "FromCloudFront", {
      listenerArn: https.arn,
      priority: 1,
      condition: [{ httpHeader: { httpHeaderName: ORIGIN_HEADER_NAME, values: [originSecretValue.result] } }],
      action: [{ type: "forward", targetGroupArn: targetGroup.arn }],
    });
    PolicyExemption.of(forwardFromCloudFront).exempt(
      "random-result-reference",
      "The load balancer checks the origin header against this value: the listener rule must hold it (the secret is what the user reads).",
    );
    new LbListener(this, "HttpListener", {
      loadBalancerArn: loadBalancer.arn,
      protocol: "HTTP",
      port: HTTP_PORT,
      defaultAction: [{ type: "redirect", redirect: { protocol: "HTTPS", port: String(HTTPS_PORT), statusCode: "HTTP_301" } }],
    });

    this.distributionSettings = {
      OriginDomainName: loadBalancer.dnsName,
      OriginProtocolPolicy: ORIGIN_CONNECTION.originProtocolPolicy,
      OriginSslProtocols: [...ORIGIN_CONNECTION.originSslProtocols],
      HTTPSPort: ORIGIN_CONNECTION.httpsPort,
      OriginCustomHeaderName: ORIGIN_HEADER_NAME,
      OriginCustomHeaderValueSecretArn: originSecret.arn,
      // AllViewer forwards Host, without which the origin's certificate (for fqdn) fails CloudFront's check, and
      // Traefik could not route by host.
      OriginRequestPolicyId: ALL_VIEWER_ORIGIN_REQUEST_POLICY_ID,
      CachePolicyId: CACHING_DISABLED_POLICY_ID,
      ViewerProtocolPolicy: VIEWER_PROTOCOL_POLICY,
      Alias: props.fqdn,
      ...(props.extraNames.length > 0 ? { AdditionalAliases: props.extraNames } : {}),
    };

    if (props.existingDistributionDomainName) {
      this.distribution = { dnsName: props.existingDistributionDomainName, zoneId: CLOUDFRONT_HOSTED_ZONE_ID };
      return;
    }

    if (!props.usEast1Provider) throw new Error("FrontDoor: usEast1Provider is required to create a distribution (its certificate must be in us-east-1); pass one, or existingDistributionDomainName");
    const viewerCertificate = new DnsValidatedCertificate(this, "ViewerCertificate", {
      domainName: props.fqdn,
      subjectAlternativeNames: props.extraNames,
      zoneId: props.zoneId,
      provider: props.usEast1Provider,
      reuseValidation: props.originCertificateValidation,
    });
    this.viewerCertificateArn = viewerCertificate.certificateArn;

    const originId = "ingress";
    const distribution = new CloudfrontDistribution(this, "Distribution", {
      enabled: true,
      comment: `${clusterName} ingress`,
      aliases: [props.fqdn, ...props.extraNames],
      httpVersion: "http2and3",
      webAclId: props.webAclArn,
      origin: [
        {
          originId,
          domainName: loadBalancer.dnsName,
          customOriginConfig: { httpPort: HTTP_PORT, ...ORIGIN_CONNECTION, originSslProtocols: [...ORIGIN_CONNECTION.originSslProtocols] },
          customHeader: [{ name: ORIGIN_HEADER_NAME, value: originSecretValue.result }],
        },
      ],
      defaultCacheBehavior: {
        targetOriginId: originId,
        viewerProtocolPolicy: VIEWER_PROTOCOL_POLICY,
        allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
        cachedMethods: ["GET", "HEAD"],
        cachePolicyId: CACHING_DISABLED_POLICY_ID,
        originRequestPolicyId: ALL_VIEWER_ORIGIN_REQUEST_POLICY_ID,
        // No compress: it takes effect only with a cache policy that enables Gzip and Brotli (Developer Guide, "Serve
        // compressed files"), which CachingDisabled does not; the origin may compress itself.
      },
      restrictions: { geoRestriction: { restrictionType: "none" } },
      viewerCertificate: { acmCertificateArn: viewerCertificate.certificateArn, sslSupportMethod: "sni-only", minimumProtocolVersion: VIEWER_MINIMUM_PROTOCOL },
    });
    PolicyExemption.of(distribution).exempt(
      "random-result-reference",
      "CloudFront sends the origin header with this value on every origin request: the distribution must hold it (the secret is what the user reads).",
    );
    this.distribution = { dnsName: distribution.domainName, zoneId: distribution.hostedZoneId };
    this.distributionId = distribution.id;
  }
}
