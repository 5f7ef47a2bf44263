import { resolveConfig } from "../config/resolve";
import { ConfigInput } from "../config/schema";
import { Networking } from "../modules/networking";
import { clusterNetworkReach, Policy } from "../modules/policy";
import { spawnSync } from "child_process";
import { problemsOf } from "./support/config-problems";
import { documentOf, localNamed, logicalIdOf, ref, referencedId, resourceNamed, resourcesOf, synthCluster, TerraformJson, traefikValues, withoutGoTemplates, writtenManifests } from "./helpers";
import { EDGE_EVERYTHING } from "./support/example-configs";

/**
 * DNS, TLS and the CloudFront front door (issue 13): off by default, and each resource with its security properties
 * when on. Expected values come from AWS's documentation, cited where they are used, not from the constants that
 * produce them.
 */

const ZONE_ID = "Z0123456789ABCDEFGHIJ";
const FQDN = "apps.example.com";
const DNS: ConfigInput = { edge: { hostedZone: ZONE_ID, fqdn: FQDN } };
const ADMIN = "203.0.113.0/24";
const CLOUDFRONT: ConfigInput = { api: { adminCidrs: [ADMIN] }, edge: { hostedZone: ZONE_ID, fqdn: FQDN, cloudFront: { enabled: true } } };
const WEB_ACL = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/a1b2c3d4-5678-90ab-cdef-000000000000";

// Documented values, written out here rather than imported.
/** CloudFront managed policies (Developer Guide, "Use managed cache policies", "Use managed origin request policies"). */
const CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
const ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3";
/** Route 53 API reference, AliasTarget: the hosted zone of every CloudFront distribution. */
const CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2";
/** Elastic Load Balancing guides, "Security policies": TLS 1.3 and 1.2 with forward-secret ciphers, the console's default. */
const TLS13_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06";

const servers = (json: TerraformJson) => localNamed(json, "Compute_Servers_UserData");
const typesOf = (json: TerraformJson) => Object.keys(json.resource);
const listeners = (json: TerraformJson, prefix: string) => resourcesOf(json, "aws_lb_listener").filter(([id]) => id.startsWith(prefix)).map(([, listener]) => listener);

/** What `terraform console` prints for a pure expression (no providers, no state). */
function terraformConsole(expression: string): string {
  const result = spawnSync("terraform", ["console"], { input: expression, encoding: "utf8", env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null" } });
  if (result.status !== 0) throw new Error(`terraform console failed: ${result.stderr}`);
  return result.stdout.trim();
}


/** Addresses of the resources and data sources created through a provider alias ("aws.us_east_1"). */
function usersOfProvider(json: TerraformJson, provider: string): string[] {
  return [...Object.entries(json.resource), ...Object.entries(json.data ?? {})].flatMap(([type, bodies]) =>
    Object.entries(bodies as Record<string, any>).filter(([, body]) => body.provider === provider).map(([id]) => `${type}.${id}`),
  );
}

describe("off by default", () => {
  const { json } = synthCluster({});

  test("the default config creates no certificate, record, zone, distribution, origin load balancer or second provider", () => {
    for (const type of ["aws_acm_certificate", "aws_acm_certificate_validation", "aws_route53_record", "aws_route53_zone", "aws_lb_listener_rule"]) {
      expect(typesOf(json)).not.toContain(type);
    }
    // The one distribution serves the service-account issuer's documents (modules/workload-identity), not the edge.
    expect(resourcesOf(json, "aws_cloudfront_distribution").map(([id]) => id)).toEqual([expect.stringMatching(/^WorkloadIdentity_IssuerDistribution_/)]);
    expect(Object.keys(json.data ?? {})).not.toContain("aws_ec2_managed_prefix_list");
    expect(Object.keys(json.data ?? {})).not.toContain("aws_route53_zone");
    expect(usersOfProvider(json, "aws.us_east_1")).toEqual([]);
    expect(resourcesOf(json, "aws_lb").map(([id]) => id)).toEqual([expect.stringMatching(/^LoadBalancing_ApiLoadBalancer_/), expect.stringMatching(/^LoadBalancing_IngressLoadBalancer_/)]);
    expect(resourcesOf(json, "aws_security_group").map(([, group]) => group.name)).not.toContain("k3s-cf-origin-lb");
    expect(Object.keys(json.output!)).not.toEqual(expect.arrayContaining(["application_url"]));
    for (const name of ["application_url", "api_hostname", "certificate_arn", "origin_header_secret_arn", "origin_load_balancer_dns_name", "cloudfront_distribution_id"]) expect(json.output![name]).toBeUndefined();
  });

  // Terraform plans a destroy of a resource in state through the provider configuration it was created with, and
  // fails ("Provider configuration not present") when that configuration is gone (hashicorp/terraform#25682): the
  // us-east-1 provider stays declared so turning CloudFront off can destroy the viewer certificate it created.
  test("the us-east-1 provider is declared with CloudFront off, used by nothing; outside the aws partition it is not", () => {
    expect(json.provider!.aws.map((provider: any) => [provider.alias, provider.region])).toEqual([
      [undefined, "eu-west-1"],
      ["us_east_1", "us-east-1"],
    ]);
    expect(synthCluster({ region: "cn-north-1" }).json.provider!.aws.map((provider: any) => provider.alias)).toEqual([undefined]);
  });

  test("the ingress load balancer passes TCP 80 and 443 through to Traefik's NodePorts", () => {
    expect(listeners(json, "LoadBalancing_Ingress").map((listener) => [listener.protocol, listener.port])).toEqual([
      ["TCP", 80],
      ["TCP", 443],
    ]);
  });
});

describe("DNS and TLS", () => {
  const { json } = synthCluster(DNS);
  const certificate = resourceNamed(json, "aws_acm_certificate", "Domain_Certificate");
  const validation = resourceNamed(json, "aws_acm_certificate_validation", "Domain_Certificate_Validation");
  const validationRecords = resourceNamed(json, "aws_route53_record", "Domain_Certificate_ValidationRecord");

  test("an ACM certificate for the FQDN, validated through DNS, in the cluster's region", () => {
    expect(certificate).toMatchObject({ domain_name: FQDN, validation_method: "DNS", lifecycle: { create_before_destroy: true } });
    expect(certificate.provider).toBeUndefined();
    // Monitoring, on by default in prod, serves Grafana at grafana.<fqdn> (addons.test.ts).
    expect(certificate.subject_alternative_names).toEqual([`grafana.${FQDN}`]);
  });

  test("validation records come from the certificate's domain_validation_options, in the hosted zone", () => {
    const options = `aws_acm_certificate.${ref(json, "aws_acm_certificate", "Domain_Certificate", "domain_validation_options").slice(22, -1)}`;
    expect(validationRecords.for_each).toBe(`\${{ for key, val in tolist(${options}): val.domain_name => val }}`);
    expect(validationRecords).toMatchObject({
      zone_id: ZONE_ID,
      name: "${each.value.resource_record_name}",
      type: "${each.value.resource_record_type}",
      records: ["${each.value.resource_record_value}"],
    });
  });

  test("the validation waits for those records, and the listener takes the certificate from the validation", () => {
    const recordsId = Object.keys(json.resource.aws_route53_record).find((id) => id.startsWith("Domain_Certificate_ValidationRecord_"));
    expect(validation.certificate_arn).toBe(ref(json, "aws_acm_certificate", "Domain_Certificate", "arn"));
    expect(validation.validation_record_fqdns).toBe(`\${[ for key, val in aws_route53_record.${recordsId}: val.fqdn]}`);
    const [tls] = listeners(json, "LoadBalancing_IngressHttpsListener");
    expect(tls.certificate_arn).toBe(ref(json, "aws_acm_certificate_validation", "Domain_Certificate_Validation", "certificate_arn"));
  });

  test("TLS ends at the ingress load balancer by default and is re-opened to Traefik's HTTPS NodePort: 80 -> 30080 over TCP, 443 -> 30443 over TLS", () => {
    // Followed through the JSON: listener -> its target group -> that group's protocol and port. A TLS target group makes
    // the load balancer open TLS to the target, without validating its certificate (Elastic Load Balancing, "Target
    // groups for your Network Load Balancers", Routing configuration), so Traefik sees HTTPS.
    const targetGroups = Object.fromEntries(resourcesOf(json, "aws_lb_target_group"));
    expect(
      listeners(json, "LoadBalancing_Ingress").map((listener) => {
        const group = targetGroups[referencedId(listener.default_action[0].target_group_arn)];
        return [listener.protocol, listener.port, listener.ssl_policy, group.protocol, group.port];
      }),
    ).toEqual([
      ["TCP", 80, undefined, "TCP", 30080],
      ["TLS", 443, TLS13_POLICY, "TLS", 30443],
    ]);
    // The TLS group is named apart from passthrough's TCP one: switching modes replaces it while the old one holds its name.
    expect(resourceNamed(json, "aws_lb_target_group", "LoadBalancing_IngressHttpsTargetGroup").name).toBe("k3s-tls-30443");
    expect(resourceNamed(json, "aws_autoscaling_group", "Compute_Agents_Group").target_group_arns).toEqual([
      ref(json, "aws_lb_target_group", "LoadBalancing_IngressHttpTargetGroup", "arn"),
      ref(json, "aws_lb_target_group", "LoadBalancing_IngressHttpsTargetGroup", "arn"),
    ]);
  });

  test("with TLS at the load balancer the agents admit both NodePorts from it, and it sends only those", () => {
    const agent = ref(json, "aws_security_group", "Networking_SecurityGroups_Agent", "id");
    const ingressGroup = ref(json, "aws_security_group", "Networking_SecurityGroups_IngressLoadBalancer", "id");
    const toNodePorts = resourcesOf(json, "aws_vpc_security_group_ingress_rule").filter(([, rule]) => rule.security_group_id === agent && [30080, 30443].includes(rule.from_port));
    expect(toNodePorts.map(([, rule]) => [rule.from_port, rule.to_port, rule.referenced_security_group_id]).sort()).toEqual([
      [30080, 30080, ingressGroup],
      [30443, 30443, ingressGroup],
    ]);
    const toAgents = resourcesOf(json, "aws_vpc_security_group_egress_rule").filter(([, rule]) => rule.security_group_id === ingressGroup);
    expect(toAgents.map(([, rule]) => [rule.referenced_security_group_id, rule.from_port]).sort()).toEqual([
      [agent, 30080],
      [agent, 30443],
    ]);
  });

  test("with TLS at the load balancer Traefik's web entry point redirects to websecure over https, the entry point 443 reaches", () => {
    const values = traefikValues(json);
    // Traefik's static configuration (docs, routing/entrypoints, "Redirection": entryPoints.<name>.http.redirections.
    // entryPoint.{to, scheme, permanent}, in Traefik 2.2 on and 3), as command-line arguments: `to` is the port the
    // clients reach HTTPS on, the load balancer's 443.
    expect(values).toEqual({
      service: { type: "NodePort" },
      ports: { web: { nodePort: 30080 }, websecure: { nodePort: 30443 } },
      additionalArguments: [
        "--entryPoints.web.http.redirections.entryPoint.to=:443",
        "--entryPoints.web.http.redirections.entryPoint.scheme=https",
        "--entryPoints.web.http.redirections.entryPoint.permanent=true",
      ],
    });
    const targetGroups = Object.fromEntries(resourcesOf(json, "aws_lb_target_group"));
    const [https] = listeners(json, "LoadBalancing_Ingress").filter((listener) => listener.port === 443);
    expect(targetGroups[referencedId(https.default_action[0].target_group_arn)].port).toBe(values.ports.websecure.nodePort);
    expect(writtenManifests(servers(json))["traefik-origin-header"]).toEqual([]);
    expect(withoutGoTemplates(servers(json))).not.toMatch(/\{\{|[A-Z0-9_] \}\}/);
  });

  test("passthrough keeps TCP 443 to Traefik's HTTPS NodePort, and Traefik's chart defaults: no redirect, no middleware", () => {
    const passthrough = synthCluster({ edge: { ...DNS.edge, applicationTls: "passthrough" } }).json;
    expect(listeners(passthrough, "LoadBalancing_Ingress").map((listener) => [listener.protocol, listener.port, listener.certificate_arn])).toEqual([
      ["TCP", 80, undefined],
      ["TCP", 443, undefined],
    ]);
    expect(resourceNamed(passthrough, "aws_lb_target_group", "LoadBalancing_IngressHttpsTargetGroup")).toMatchObject({ protocol: "TCP", port: 30443, name: "k3s-https-30443" });
    // Switching modes changes the :443 listener in place (same address), rather than deleting one listener on the port
    // while creating another, which fails with DuplicateListener when the create comes first.
    const port443 = (document: TerraformJson) => resourcesOf(document, "aws_lb_listener").filter(([, listener]) => listener.port === 443 && listener.load_balancer_arn.includes("IngressLoadBalancer")).map(([id]) => id);
    expect(port443(passthrough)).toHaveLength(1);
    expect(port443(passthrough)).toEqual(port443(json));
    const agent = ref(passthrough, "aws_security_group", "Networking_SecurityGroups_Agent", "id");
    const ingressGroup = ref(passthrough, "aws_security_group", "Networking_SecurityGroups_IngressLoadBalancer", "id");
    const fromIngress = resourcesOf(passthrough, "aws_vpc_security_group_ingress_rule").filter(([, rule]) => rule.security_group_id === agent && rule.referenced_security_group_id === ingressGroup);
    expect(fromIngress.map(([, rule]) => rule.from_port).sort()).toEqual([30080, 30443]);
    // values.yaml's default additionalArguments: [] (no redirect, no middleware).
    expect(traefikValues(passthrough)).toEqual({ service: { type: "NodePort" }, ports: { web: { nodePort: 30080 }, websecure: { nodePort: 30443 } }, additionalArguments: [] });
    expect(writtenManifests(servers(passthrough))["traefik-origin-header"]).toEqual([]);
  });

  test("<fqdn> is an alias of the ingress load balancer", () => {
    expect(resourceNamed(json, "aws_route53_record", "DnsRecords_ApplicationRecord")).toEqual({
      zone_id: ZONE_ID,
      name: FQDN,
      type: "A",
      alias: {
        name: ref(json, "aws_lb", "LoadBalancing_IngressLoadBalancer", "dns_name"),
        zone_id: ref(json, "aws_lb", "LoadBalancing_IngressLoadBalancer", "zone_id"),
        evaluate_target_health: false,
      },
    });
  });

  test("with a private API, k3s.<fqdn> lives in a private zone of its own inside the VPC, aliasing the internal load balancer", () => {
    const zone = resourceNamed(json, "aws_route53_zone", "DnsRecords_PrivateApiZone");
    expect(zone.name).toBe(`k3s.${FQDN}`);
    expect(zone.vpc).toEqual([{ vpc_id: ref(json, "aws_vpc", "Networking_Vpc", "id") }]);
    expect(resourceNamed(json, "aws_route53_record", "DnsRecords_PrivateApiRecord")).toMatchObject({
      zone_id: ref(json, "aws_route53_zone", "DnsRecords_PrivateApiZone", "zone_id"),
      name: `k3s.${FQDN}`,
      alias: { name: ref(json, "aws_lb", "LoadBalancing_ApiLoadBalancer", "dns_name"), zone_id: ref(json, "aws_lb", "LoadBalancing_ApiLoadBalancer", "zone_id") },
    });
    expect(resourcesOf(json, "aws_route53_record").map(([id]) => id)).not.toContainEqual(expect.stringMatching(/^DnsRecords_ApiRecord_/));
  });

  test("with a public API, k3s.<fqdn> is a public alias of the public API load balancer, and no private zone exists", () => {
    const publicApi = synthCluster({ ...DNS, api: { publicAccess: true, adminCidrs: [ADMIN] } }).json;
    expect(resourceNamed(publicApi, "aws_route53_record", "DnsRecords_ApiRecord")).toMatchObject({
      zone_id: ZONE_ID,
      name: `k3s.${FQDN}`,
      alias: { name: ref(publicApi, "aws_lb", "LoadBalancing_PublicApiLoadBalancer", "dns_name"), zone_id: ref(publicApi, "aws_lb", "LoadBalancing_PublicApiLoadBalancer", "zone_id") },
    });
    expect(typesOf(publicApi)).not.toContain("aws_route53_zone");
  });

  test("with a private API, k3s.<fqdn> is in the API certificate from first boot, and the kubeconfig keeps the internal load balancer's name", () => {
    // k3s.<fqdn> resolves only inside the VPC (its private zone); the load balancer's name resolves wherever the user is.
    const internal = `https://\${${ref(json, "aws_lb", "LoadBalancing_ApiLoadBalancer", "dns_name").slice(2, -1)}}:6443`;
    expect(servers(json)).toContain(`  - "k3s.${FQDN}"`);
    expect(servers(json)).not.toContain(`KUBECONFIG_ENDPOINT="https://k3s.${FQDN}:6443"`);
    expect(json.output!.api_endpoint.value).toBe(internal);
    expect(json.output!.api_hostname.value).toBe(`k3s.${FQDN}`);
    expect(json.output!.application_url.value).toBe(`https://${FQDN}`);
  });

  test("with a public API, the kubeconfig's endpoint is k3s.<fqdn>, the public record", () => {
    const publicApi = synthCluster({ ...DNS, api: { publicAccess: true, adminCidrs: [ADMIN] } }).json;
    expect(servers(publicApi)).toContain(`KUBECONFIG_ENDPOINT="https://k3s.${FQDN}:6443"`);
    expect(publicApi.output!.api_endpoint.value).toBe(`https://k3s.${FQDN}:6443`);
  });

  test("a hosted zone given by domain is looked up as a public zone", () => {
    const byName = synthCluster({ edge: { hostedZone: "example.com", fqdn: FQDN } }).json;
    const [zone] = Object.entries(byName.data!.aws_route53_zone);
    expect(zone[1]).toEqual({ name: "example.com", private_zone: false });
    expect(resourceNamed(byName, "aws_route53_record", "DnsRecords_ApplicationRecord").zone_id).toBe(`\${data.aws_route53_zone.${zone[0]}.zone_id}`);
  });
});

describe("the CloudFront front door", () => {
  const { json, stack } = synthCluster({ ...CLOUDFRONT, edge: { ...CLOUDFRONT.edge, cloudFront: { enabled: true, webAclArn: WEB_ACL } } });
  const distribution = resourceNamed(json, "aws_cloudfront_distribution", "FrontDoor_Distribution");
  const originGroup = ref(json, "aws_security_group", "Networking_SecurityGroups_CloudFrontOrigin", "id");

  test("an internet-facing Application Load Balancer in the public subnets, in its own security group, dropping invalid headers", () => {
    const alb = resourceNamed(json, "aws_lb", "FrontDoor_LoadBalancer");
    expect(alb).toMatchObject({ load_balancer_type: "application", internal: false, security_groups: [originGroup], drop_invalid_header_fields: true, enable_deletion_protection: true });
  });

  test("its security group admits only CloudFront's origin-facing prefix list (HTTPS) and the admin networks", () => {
    const [prefixListId, prefixList] = Object.entries(json.data!.aws_ec2_managed_prefix_list)[0];
    // Amazon CloudFront Developer Guide, "Use the CloudFront managed prefix list".
    expect(prefixList).toEqual({ name: "com.amazonaws.global.cloudfront.origin-facing" });
    const ingress = resourcesOf(json, "aws_vpc_security_group_ingress_rule").filter(([, rule]) => rule.security_group_id === originGroup).map(([, rule]) => rule);
    expect(ingress.map((rule) => [rule.prefix_list_id ?? rule.cidr_ipv4, rule.ip_protocol, rule.from_port, rule.to_port]).sort()).toEqual(
      [
        [`\${data.aws_ec2_managed_prefix_list.${prefixListId}.id}`, "tcp", 443, 443],
        [ADMIN, "tcp", 443, 443],
        [ADMIN, "tcp", 80, 80],
      ].sort(),
    );
    const egress = resourcesOf(json, "aws_vpc_security_group_egress_rule").filter(([, rule]) => rule.security_group_id === originGroup).map(([, rule]) => rule);
    expect(egress.map((rule) => [rule.referenced_security_group_id, rule.from_port, rule.to_port])).toEqual([[ref(json, "aws_security_group", "Networking_SecurityGroups_Agent", "id"), 30443, 30443]]);
    const agentFromOrigin = resourcesOf(json, "aws_vpc_security_group_ingress_rule").filter(([, rule]) => rule.referenced_security_group_id === originGroup);
    expect(agentFromOrigin.map(([, rule]) => [rule.security_group_id, rule.from_port, rule.to_port])).toEqual([[ref(json, "aws_security_group", "Networking_SecurityGroups_Agent", "id"), 30443, 30443]]);
  });

  test("HTTPS with the regional certificate and a TLS 1.3/1.2 policy answers 403 unless the origin header matches; HTTP redirects to HTTPS", () => {
    const https = resourceNamed(json, "aws_lb_listener", "FrontDoor_HttpsListener");
    expect(https).toMatchObject({
      protocol: "HTTPS",
      port: 443,
      ssl_policy: TLS13_POLICY,
      certificate_arn: ref(json, "aws_acm_certificate_validation", "Domain_Certificate_Validation", "certificate_arn"),
      default_action: [{ type: "fixed-response", fixed_response: { status_code: "403", content_type: "text/plain", message_body: "Forbidden" } }],
    });
    const rule = resourceNamed(json, "aws_lb_listener_rule", "FrontDoor_FromCloudFront");
    expect(rule.listener_arn).toBe(ref(json, "aws_lb_listener", "FrontDoor_HttpsListener", "arn"));
    expect(rule.condition).toEqual([{ http_header: { http_header_name: "X-Origin-Verify", values: [ref(json, "random_password", "FrontDoor_OriginHeaderValue", "result")] } }]);
    expect(rule.action).toEqual([{ type: "forward", target_group_arn: ref(json, "aws_lb_target_group", "FrontDoor_TargetGroup", "arn") }]);
    expect(resourceNamed(json, "aws_lb_listener", "FrontDoor_HttpListener")).toMatchObject({
      protocol: "HTTP",
      port: 80,
      default_action: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", status_code: "HTTP_301" } }],
    });
  });

  test("the target group is Traefik's HTTPS NodePort over HTTPS, health-checked over HTTPS, and the agents register in it", () => {
    // Traefik's routers for Ingresses with spec.tls serve only TLS connections, so the origin forwards to websecure.
    expect(resourceNamed(json, "aws_lb_target_group", "FrontDoor_TargetGroup")).toMatchObject({
      name: "k3s-cf-30443",
      protocol: "HTTPS",
      port: 30443,
      target_type: "instance",
      health_check: { protocol: "HTTPS", path: "/", matcher: "200-404" },
    });
    expect(resourceNamed(json, "aws_autoscaling_group", "Compute_Agents_Group").target_group_arns).toContain(ref(json, "aws_lb_target_group", "FrontDoor_TargetGroup", "arn"));
  });

  test("the distribution: HTTPS only to viewers and origin, TLS 1.2+, caching disabled, every viewer header forwarded, the FQDN, the web ACL", () => {
    expect(distribution).toMatchObject({
      enabled: true,
      aliases: [FQDN, `grafana.${FQDN}`],
      web_acl_id: WEB_ACL,
      default_cache_behavior: { viewer_protocol_policy: "redirect-to-https", cache_policy_id: CACHING_DISABLED, origin_request_policy_id: ALL_VIEWER, target_origin_id: "ingress" },
      viewer_certificate: {
        acm_certificate_arn: ref(json, "aws_acm_certificate_validation", "FrontDoor_ViewerCertificate_Validation", "certificate_arn"),
        ssl_support_method: "sni-only",
        minimum_protocol_version: "TLSv1.2_2021",
      },
    });
    const [origin] = distribution.origin;
    expect(origin).toMatchObject({
      origin_id: "ingress",
      domain_name: ref(json, "aws_lb", "FrontDoor_LoadBalancer", "dns_name"),
      custom_origin_config: { origin_protocol_policy: "https-only", origin_ssl_protocols: ["TLSv1.2"], https_port: 443 },
      custom_header: [{ name: "X-Origin-Verify", value: ref(json, "random_password", "FrontDoor_OriginHeaderValue", "result") }],
    });
    expect(distribution.default_cache_behavior.forwarded_values).toBeUndefined();
    // Compression needs a cache policy with Gzip and Brotli enabled (Developer Guide, "Serve compressed files"); CachingDisabled has neither.
    expect(distribution.default_cache_behavior.compress).toBeUndefined();
  });

  test("the viewer certificate is issued in us-east-1 through the aliased provider, validated by the regional certificate's records", () => {
    expect(json.provider!.aws).toEqual(expect.arrayContaining([expect.objectContaining({ alias: "us_east_1", region: "us-east-1" })]));
    expect(resourceNamed(json, "aws_acm_certificate", "FrontDoor_ViewerCertificate")).toMatchObject({ domain_name: FQDN, validation_method: "DNS", provider: "aws.us_east_1" });
    const viewerValidation = resourceNamed(json, "aws_acm_certificate_validation", "FrontDoor_ViewerCertificate_Validation");
    expect(viewerValidation.provider).toBe("aws.us_east_1");
    expect(viewerValidation.validation_record_fqdns).toBe(resourceNamed(json, "aws_acm_certificate_validation", "Domain_Certificate_Validation").validation_record_fqdns);
    expect(resourcesOf(json, "aws_route53_record").filter(([id]) => id.includes("ValidationRecord"))).toHaveLength(1);
  });

  test("the viewer certificate fails the apply unless ACM gave it the regional certificate's validation records (observed, not documented)", () => {
    const [postcondition] = resourceNamed(json, "aws_acm_certificate", "FrontDoor_ViewerCertificate").lifecycle.postcondition;
    expect(resourceNamed(json, "aws_acm_certificate", "Domain_Certificate").lifecycle.postcondition).toBeUndefined();
    const regional = `aws_acm_certificate.${logicalIdOf(json, "aws_acm_certificate", "Domain_Certificate")}.domain_validation_options`;
    expect(postcondition.condition).toContain("self.domain_validation_options");
    expect(postcondition.condition).toContain(regional);
    // Evaluated by Terraform itself, with the two certificates' options written in: equal records pass, any other fails.
    const option = (name: string, value: string) => `{ domain_name = "${FQDN}", resource_record_name = "${name}", resource_record_type = "CNAME", resource_record_value = "${value}" }`;
    const evaluate = (viewer: string, origin: string) =>
      terraformConsole(postcondition.condition.slice(2, -1).replace("self.domain_validation_options", `toset([${viewer}])`).replace(regional, `toset([${origin}])`));
    const record = option("_a1.apps.example.com.", "_b2.acm-validations.aws.");
    expect(evaluate(record, record)).toBe("true");
    expect(evaluate(option("_a1.apps.example.com.", "_c3.acm-validations.aws."), record)).toBe("false");
    expect(evaluate(option("_d4.apps.example.com.", "_b2.acm-validations.aws."), record)).toBe("false");
    expect(postcondition.error_message).toContain("observation, not by AWS documentation");
  });

  test("<fqdn> aliases the distribution", () => {
    expect(resourceNamed(json, "aws_route53_record", "DnsRecords_ApplicationRecord").alias).toEqual({
      name: ref(json, "aws_cloudfront_distribution", "FrontDoor_Distribution", "domain_name"),
      zone_id: ref(json, "aws_cloudfront_distribution", "FrontDoor_Distribution", "hosted_zone_id"),
      evaluate_target_health: false,
    });
  });

  test("the origin secret is generated into Secrets Manager and is never a literal in the JSON", () => {
    const password = resourceNamed(json, "random_password", "FrontDoor_OriginHeaderValue");
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect(resourceNamed(json, "aws_secretsmanager_secret_version", "FrontDoor_OriginHeaderSecretValue").secret_string).toBe(ref(json, "random_password", "FrontDoor_OriginHeaderValue", "result"));
    // Every place the header's value appears is a Terraform reference, and no 32+ character literal sits in a header value.
    const headerValues = [...distribution.origin.flatMap((origin: any) => origin.custom_header.map((header: any) => header.value)), ...resourceNamed(json, "aws_lb_listener_rule", "FrontDoor_FromCloudFront").condition[0].http_header.values];
    for (const value of headerValues) expect(value).toMatch(/^\$\{random_password\.[A-Za-z0-9_]+\.result\}$/);
    const headerBlocks = JSON.stringify([distribution.origin.map((origin: any) => origin.custom_header), resourceNamed(json, "aws_lb_listener_rule", "FrontDoor_FromCloudFront").condition]);
    expect(headerBlocks.match(/"[^"${}]{32,}"/g)).toBeNull();
    expect(json.output!.origin_header_secret_arn.value).toBe(ref(json, "aws_secretsmanager_secret", "FrontDoor_OriginHeaderSecret", "arn"));
    expect(json.output!.origin_header_name.value).toBe("X-Origin-Verify");
  });

  test("with a distribution created here, no settings for one of the user's are output", () => {
    expect(json.output!.existing_distribution_settings).toBeUndefined();
  });

  test("nothing admits the world to Traefik's NodePorts: no public ingress load balancer, listeners, target groups, world-open rules or output", () => {
    // The issue: the load balancer must be reachable only from CloudFront, so no path may bypass its web ACL and header.
    expect(resourcesOf(json, "aws_lb").map(([, lb]) => lb.name).sort()).toEqual(["k3s-api", "k3s-cf-origin"]);
    expect(resourcesOf(json, "aws_lb_listener").map(([id]) => id)).not.toContainEqual(expect.stringMatching(/^LoadBalancing_Ingress/));
    expect(resourcesOf(json, "aws_lb_target_group").map(([id]) => id)).not.toContainEqual(expect.stringMatching(/^LoadBalancing_Ingress/));
    expect(resourcesOf(json, "aws_security_group").map(([, group]) => group.name)).not.toContain("k3s-ingress-lb");
    const ingressRules = [...resourcesOf(json, "aws_vpc_security_group_ingress_rule"), ...resourcesOf(json, "aws_security_group_rule").filter(([, rule]) => rule.type === "ingress")].map(([, rule]) => rule);
    expect(ingressRules.filter((rule) => rule.cidr_ipv4 === "0.0.0.0/0" || (rule.cidr_blocks ?? []).includes("0.0.0.0/0"))).toEqual([]);
    // The NodePorts admit the origin load balancer's group only.
    const agent = ref(json, "aws_security_group", "Networking_SecurityGroups_Agent", "id");
    const toNodePorts = ingressRules.filter((rule) => rule.security_group_id === agent && [30080, 30443].includes(rule.from_port));
    expect(toNodePorts.map((rule) => [rule.from_port, rule.referenced_security_group_id])).toEqual([[30443, originGroup]]);
    expect(json.output!.ingress_dns_name).toBeUndefined();
    expect(resourceNamed(json, "aws_autoscaling_group", "Compute_Agents_Group").target_group_arns).toEqual([ref(json, "aws_lb_target_group", "FrontDoor_TargetGroup", "arn")]);
    // The policy's table of world-open ingress is empty then: no allowance outlives the listeners it was for.
    const { securityGroups } = stack.node.findChild("Networking") as Networking;
    expect(clusterNetworkReach(securityGroups).publicIngress).toEqual([]);
  });

  test("Traefik's websecure entry point, the origin's target, removes the origin header before any application sees it; web does not redirect", () => {
    const values = traefikValues(json);
    const { websecure } = values.ports;
    // Traefik docs, routing/entrypoints: entryPoints.<name>.http.middlewares are prepended to every router on the entry
    // point; a Middleware of the Kubernetes CRD provider is named <namespace>-<name>@kubernetescrd (providers/kubernetes-crd).
    expect(values.additionalArguments).toEqual(["--entryPoints.websecure.http.middlewares=kube-system-remove-origin-header@kubernetescrd"]);
    expect(values.ports).toEqual({ web: { nodePort: 30080 }, websecure: { nodePort: 30443 } });
    // Followed through the synthesised JSON: the origin's HTTPS listener rule -> its target group -> that group's port.
    const rule = resourceNamed(json, "aws_lb_listener_rule", "FrontDoor_FromCloudFront");
    const targetGroups = Object.fromEntries(resourcesOf(json, "aws_lb_target_group"));
    const forwardedTo = targetGroups[referencedId(rule.action[0].target_group_arn)];
    expect([forwardedTo.protocol, forwardedTo.port]).toEqual(["HTTPS", websecure.nodePort]);
    // Traefik docs, middlewares/http/headers: a customRequestHeaders entry with an empty value removes the header.
    expect(documentOf(writtenManifests(servers(json))["traefik-origin-header"], "Middleware")).toEqual({
      apiVersion: "traefik.io/v1alpha1",
      kind: "Middleware",
      metadata: { name: "remove-origin-header", namespace: "kube-system" },
      spec: { headers: { customRequestHeaders: { "X-Origin-Verify": "" } } },
    });
    // The header removed is the one the origin's listener rule checks.
    expect(rule.condition[0].http_header.http_header_name).toBe("X-Origin-Verify");
    expect(withoutGoTemplates(servers(json))).not.toMatch(/\{\{|[A-Z0-9_] \}\}/);
  });

  test("the policy waives random-result-reference only for the two resources that must hold the value", () => {
    const exempt = Policy.of(stack)!
      .report.exemptions.filter((exemption) => exemption.rule === "random-result-reference")
      .map((exemption) => exemption.address.split(".")[0]);
    expect(exempt.sort()).toEqual(["aws_cloudfront_distribution", "aws_lb_listener_rule"]);
  });
});

describe("an existing distribution", () => {
  const { json } = synthCluster({ ...CLOUDFRONT, edge: { ...CLOUDFRONT.edge, cloudFront: { enabled: true, existingDistributionDomainName: "d111111abcdef8.cloudfront.net" } } });

  test("no distribution and no viewer certificate are created; the origin and its header secret are, and are output", () => {
    expect(resourcesOf(json, "aws_cloudfront_distribution").filter(([id]) => id.startsWith("FrontDoor_"))).toEqual([]);
    expect(resourcesOf(json, "aws_acm_certificate").map(([id]) => id)).toEqual([expect.stringMatching(/^Domain_Certificate_/)]);
    expect(usersOfProvider(json, "aws.us_east_1")).toEqual([]);
    expect(resourceNamed(json, "aws_lb", "FrontDoor_LoadBalancer")).toBeDefined();
    expect(json.output!.origin_header_secret_arn.value).toBe(ref(json, "aws_secretsmanager_secret", "FrontDoor_OriginHeaderSecret", "arn"));
    expect(json.output!.origin_load_balancer_dns_name.value).toBe(ref(json, "aws_lb", "FrontDoor_LoadBalancer", "dns_name"));
    expect(json.output!.cloudfront_distribution_id).toBeUndefined();
  });

  test("an output lists what the user's distribution needs: AllViewer (Host forwarded), HTTPS only with TLS 1.2 to the origin, the header and its secret", () => {
    expect(json.output!.existing_distribution_settings.value).toEqual({
      OriginDomainName: ref(json, "aws_lb", "FrontDoor_LoadBalancer", "dns_name"),
      OriginProtocolPolicy: "https-only",
      OriginSslProtocols: ["TLSv1.2"],
      HTTPSPort: 443,
      OriginCustomHeaderName: "X-Origin-Verify",
      OriginCustomHeaderValueSecretArn: ref(json, "aws_secretsmanager_secret", "FrontDoor_OriginHeaderSecret", "arn"),
      OriginRequestPolicyId: ALL_VIEWER,
      CachePolicyId: CACHING_DISABLED,
      ViewerProtocolPolicy: "redirect-to-https",
      Alias: FQDN,
      AdditionalAliases: [`grafana.${FQDN}`],
    });
    expect(json.output!.existing_distribution_settings.description).toContain("AllViewer");
  });

  test("<fqdn> aliases the existing distribution in CloudFront's hosted zone", () => {
    expect(resourceNamed(json, "aws_route53_record", "DnsRecords_ApplicationRecord").alias).toEqual({ name: "d111111abcdef8.cloudfront.net", zone_id: CLOUDFRONT_ZONE, evaluate_target_health: false });
  });
});

describe("edge configuration is validated", () => {
  test.each<[string, ConfigInput, string[]]>([
    ["a zone without a name", { edge: { hostedZone: ZONE_ID } }, ["edge.fqdn: is required with edge.hostedZone: the name the applications are served at"]],
    ["a name without a zone", { edge: { fqdn: FQDN } }, ["edge.hostedZone: is required with edge.fqdn: the public Route 53 hosted zone its records go in"]],
    ["a name outside the zone", { edge: { hostedZone: "example.org", fqdn: FQDN } }, ['edge.fqdn: "apps.example.com" is not inside the hosted zone "example.org"; use a name ending in ".example.org"']],
    [
      "api.domain contradicting edge.fqdn",
      { api: { domain: "example.org" }, edge: { hostedZone: ZONE_ID, fqdn: FQDN } },
      ['api.domain: ("example.org") contradicts edge.fqdn ("apps.example.com"): the API\'s name is k3s.<edge.fqdn> ("k3s.apps.example.com"), which this project creates; remove api.domain'],
    ],
    [
      "CloudFront without a name",
      { edge: { cloudFront: { enabled: true } } },
      ["edge.cloudFront.enabled: needs edge.hostedZone and edge.fqdn: the distribution and its origin serve edge.fqdn with an ACM certificate"],
    ],
    ["a web ACL with CloudFront off", { edge: { ...DNS.edge, cloudFront: { webAclArn: WEB_ACL } } }, ["edge.cloudFront.webAclArn: is set but edge.cloudFront.enabled is false; enable CloudFront or remove it"]],
    [
      "a web ACL with an existing distribution",
      { edge: { ...DNS.edge, cloudFront: { enabled: true, webAclArn: WEB_ACL, existingDistributionDomainName: "d111111abcdef8.cloudfront.net" } } },
      ["edge.cloudFront.webAclArn: applies to the distribution this project creates; with edge.cloudFront.existingDistributionDomainName attach the web ACL to your distribution instead"],
    ],
    [
      "a regional web ACL",
      { edge: { ...DNS.edge, cloudFront: { enabled: true, webAclArn: "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/edge/a1b2c3d4-5678-90ab-cdef-000000000000" } } },
      ['edge.cloudFront.webAclArn: must be the ARN of a WAFv2 web ACL with scope CLOUDFRONT ("arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>")'],
    ],
    [
      // The prefix list weighs 55 of a group's 60 rules (Amazon VPC User Guide, AWS-managed prefix list weight).
      "three admin networks with CloudFront",
      { api: { adminCidrs: ["198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/24"] }, edge: { ...DNS.edge, cloudFront: { enabled: true } } },
      [
        "api.adminCidrs: 3 networks are too many with edge.cloudFront.enabled: the origin load balancer's security group would need 61 rules (the CloudFront prefix list counts 55, each network 2), more than the 60 a group may hold; list at most 2",
      ],
    ],
    ["CloudFront in aws-cn", { region: "cn-north-1", edge: { ...DNS.edge, cloudFront: { enabled: true } } }, ["edge.cloudFront.enabled: CloudFront with a us-east-1 certificate is not available in the aws-cn partition (region cn-north-1)"]],
    [
      // ACM API reference, RequestCertificate: DomainName "cannot exceed 64 octets (characters), including periods".
      "a 65-character name",
      { edge: { hostedZone: ZONE_ID, fqdn: `${"a".repeat(53)}.example.com` } },
      ["edge.fqdn: is 65 characters; ACM issues a certificate for a name of at most 64 (its Common Name), so choose a shorter name"],
    ],
    [
      // Elastic Load Balancing, Application Load Balancers, "Subnets for your load balancer": a /27 with 8 free addresses.
      "CloudFront in a /20 VPC, whose derived public subnets are /28",
      { network: { vpcCidr: "10.0.0.0/20" }, edge: { ...DNS.edge, cloudFront: { enabled: true } } },
      [
        "edge.cloudFront.enabled: needs public subnets of at least /27 for the origin Application Load Balancer (AWS requires a /27 with 8 free addresses per subnet), but the public subnets derived from network.vpcCidr (10.0.0.0/20) are 10.0.14.0/28, 10.0.14.16/28, 10.0.14.32/28; use a /19 or larger VPC, or list network.publicSubnetCidrs of /27 or larger",
      ],
    ],
    [
      "CloudFront with a listed /28 public subnet",
      {
        network: { vpcCidr: "10.0.0.0/16", publicSubnetCidrs: ["10.0.100.0/27", "10.0.101.0/28", "10.0.102.0/24"], privateSubnetCidrs: ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"] },
        edge: { ...DNS.edge, cloudFront: { enabled: true } },
      },
      ["edge.cloudFront.enabled: needs public subnets of at least /27 for the origin Application Load Balancer (AWS requires a /27 with 8 free addresses per subnet), but network.publicSubnetCidrs has 10.0.101.0/28; list subnets of /27 or larger"],
    ],
    ["an upper-case name", { edge: { hostedZone: ZONE_ID, fqdn: "Apps.example.com" } }, ['edge.fqdn: must be a lower-case DNS name such as "apps.example.com"']],
  ])("%s", (_label, input, problems) => {
    expect(problemsOf(input)).toEqual(problems);
  });

  test("a 64-character name is accepted: ACM's DomainName limit, inclusive", () => {
    const fqdn = `${"a".repeat(52)}.example.com`;
    expect(fqdn).toHaveLength(64);
    expect(resolveConfig({ edge: { hostedZone: ZONE_ID, fqdn } }).apiHostName).toBe(`k3s.${fqdn}`);
  });

  test("CloudFront in a /19 VPC is accepted: its derived public subnets are /27, the smallest an Application Load Balancer takes", () => {
    expect(resolveConfig({ network: { vpcCidr: "10.0.0.0/19" }, edge: { ...DNS.edge, cloudFront: { enabled: true } } }).network.publicSubnetCidrs).toEqual(["10.0.28.0/27", "10.0.28.32/27", "10.0.28.64/27"]);
    // Without CloudFront the /28s hold only NAT gateways and network load balancers, as before.
    expect(resolveConfig({ network: { vpcCidr: "10.0.0.0/20" }, edge: DNS.edge }).network.publicSubnetCidrs).toEqual(["10.0.14.0/28", "10.0.14.16/28", "10.0.14.32/28"]);
  });

  test("api.domain equal to edge.fqdn is accepted: both name k3s.<fqdn>, once", () => {
    const config = resolveConfig({ api: { domain: FQDN }, edge: { hostedZone: ZONE_ID, fqdn: FQDN } });
    expect(config.apiHostName).toBe(`k3s.${FQDN}`);
    const script = localNamed(synthCluster({ api: { domain: FQDN }, edge: { hostedZone: ZONE_ID, fqdn: FQDN } }).json, "Compute_Servers_UserData");
    expect(script.split(`"k3s.${FQDN}"`)).toHaveLength(2);
  });

  test("api.domain alone still adds k3s.<domain> to the certificate, and creates no record", () => {
    expect(resolveConfig({ api: { domain: "example.org" } }).apiHostName).toBe("k3s.example.org");
    expect(resolveConfig({}).apiHostName).toBeUndefined();
  });

  test("the example config with every edge option synthesises and passes the policy", () => {
    const { json } = synthCluster(EDGE_EVERYTHING);
    expect(typesOf(json)).toEqual(expect.arrayContaining(["aws_cloudfront_distribution", "aws_acm_certificate", "aws_route53_record", "aws_lb_listener_rule"]));
  });
});
