import { logicalIdOf, referencedId, resourceNamed, resourcesOf, synthCluster, TerraformJson } from "./helpers";

function listenerFor(json: TerraformJson, prefix: string) {
  const listener = resourceNamed(json, "aws_lb_listener", `LoadBalancing_${prefix}Listener`);
  return {
    listener,
    loadBalancer: referencedId(listener.load_balancer_arn),
    targetGroup: resourceNamed(json, "aws_lb_target_group", `LoadBalancing_${prefix}TargetGroup`),
    targetGroupId: referencedId(listener.default_action[0].target_group_arn),
  };
}

describe("API load balancer", () => {
  const { json } = synthCluster();

  test("internal, cross-zone, in the private subnets behind the API security group", () => {
    const api = resourceNamed(json, "aws_lb", "LoadBalancing_ApiLoadBalancer");
    expect(api).toMatchObject({ load_balancer_type: "network", internal: true, enable_cross_zone_load_balancing: true, enable_deletion_protection: true });
    expect(api.subnets.map(referencedId)).toEqual(["A", "B", "C"].map((zone) => logicalIdOf(json, "aws_subnet", `Networking_PrivateSubnet${zone}`)));
    expect(api.security_groups.map(referencedId)).toEqual([logicalIdOf(json, "aws_security_group", "Networking_SecurityGroups_ApiLoadBalancer")]);
  });

  test("TCP 6443 to the servers with TCP health checks and client IP preservation off", () => {
    const { listener, loadBalancer, targetGroup, targetGroupId } = listenerFor(json, "Api");
    expect(listener).toMatchObject({ protocol: "TCP", port: 6443 });
    expect(loadBalancer).toBe(logicalIdOf(json, "aws_lb", "LoadBalancing_ApiLoadBalancer"));
    expect(targetGroupId).toBe(logicalIdOf(json, "aws_lb_target_group", "LoadBalancing_ApiTargetGroup"));
    expect(targetGroup).toMatchObject({ protocol: "TCP", port: 6443, target_type: "instance", preserve_client_ip: "false", health_check: { protocol: "TCP", port: "traffic-port" } });
  });

  test("no public API load balancer unless asked for", () => {
    expect(resourcesOf(json, "aws_lb").map(([id]) => id.split("_")[1]).sort()).toEqual(["ApiLoadBalancer", "IngressLoadBalancer"]);
    const withPublic = synthCluster({ api: { publicAccess: true, adminCidrs: ["203.0.113.0/24"] } }).json;
    const publicApi = resourceNamed(withPublic, "aws_lb", "LoadBalancing_PublicApiLoadBalancer");
    expect(publicApi).toMatchObject({ internal: false, load_balancer_type: "network" });
    expect(publicApi.subnets.map(referencedId)).toEqual(["A", "B", "C"].map((zone) => logicalIdOf(withPublic, "aws_subnet", `Networking_PublicSubnet${zone}`)));
    expect(publicApi.security_groups.map(referencedId)).toEqual([logicalIdOf(withPublic, "aws_security_group", "Networking_SecurityGroups_PublicApiLoadBalancer")]);
    expect(listenerFor(withPublic, "PublicApi").listener.port).toBe(6443);
  });
});

test("target groups are named after their role and port, fit 32 characters, and are replaced without downtime", () => {
  const longest = "abcdefghij-klmnopqrs";
  const json = synthCluster({ clusterName: longest, api: { publicAccess: true, adminCidrs: ["203.0.113.0/24"] } }).json;
  const groups = resourcesOf(json, "aws_lb_target_group");
  const names = Object.fromEntries(groups.map(([id, group]) => [id.split("_")[1], group.name]));
  expect(names).toEqual({
    ApiTargetGroup: `${longest}-api-6443`,
    PublicApiTargetGroup: `${longest}-pubapi-6443`,
    IngressHttpTargetGroup: `${longest}-http-30080`,
    IngressHttpsTargetGroup: `${longest}-https-30443`,
  });
  // CreateTargetGroup: at most 32 characters (docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html).
  for (const name of Object.values(names)) expect(name.length).toBeLessThanOrEqual(32);
  for (const [, group] of groups) {
    expect(group.lifecycle).toEqual({ create_before_destroy: true });
    // The replacement is created while the old group still exists, and names are unique per account and region: a
    // change of port (the replacing argument that can change) must change the name, or AWS answers
    // DuplicateTargetGroupName.
    expect(group.name.endsWith(`-${group.port}`)).toBe(true);
  }
});

describe("ingress load balancer", () => {
  const { json } = synthCluster();

  test("public, forwarding 80 and 443 to the ingress NodePorts on the agents", () => {
    const ingress = resourceNamed(json, "aws_lb", "LoadBalancing_IngressLoadBalancer");
    expect(ingress).toMatchObject({ internal: false, enable_cross_zone_load_balancing: true });
    expect(ingress.security_groups.map(referencedId)).toEqual([logicalIdOf(json, "aws_security_group", "Networking_SecurityGroups_IngressLoadBalancer")]);
    for (const [prefix, listenerPort, nodePort] of [["IngressHttp", 80, 30080], ["IngressHttps", 443, 30443]] as const) {
      const { listener, loadBalancer, targetGroup } = listenerFor(json, prefix);
      expect(listener.port).toBe(listenerPort);
      expect(loadBalancer).toBe(logicalIdOf(json, "aws_lb", "LoadBalancing_IngressLoadBalancer"));
      expect(targetGroup).toMatchObject({ port: nodePort, protocol: "TCP", health_check: { protocol: "TCP" } });
    }
  });

  test("deletion protection is on outside dev and off in dev", () => {
    for (const [, lb] of resourcesOf(synthCluster({ environment: "staging" }).json, "aws_lb")) expect(lb.enable_deletion_protection).toBe(true);
    for (const [, lb] of resourcesOf(synthCluster({ environment: "dev" }).json, "aws_lb")) expect(lb.enable_deletion_protection).toBe(false);
  });
});

test("outputs give the API endpoint, ingress name, kubeconfig secret and command, and group names", () => {
  const { json } = synthCluster();
  const output = json.output!;
  expect(Object.keys(output)).toEqual(expect.arrayContaining(["api_endpoint", "ingress_dns_name", "kubeconfig_secret_arn", "kubeconfig_command", "server_asg_name", "agent_asg_name"]));
  expect(output.api_endpoint.value).toMatch(/^https:\/\/\$\{aws_lb\.LoadBalancing_ApiLoadBalancer_[A-F0-9]+\.dns_name\}:6443$/);
  expect(output.kubeconfig_command.value).toMatch(/^aws secretsmanager get-secret-value --region eu-west-1 --secret-id \$\{aws_secretsmanager_secret\.Compute_KubeconfigSecret_[A-F0-9]+\.arn\} --query SecretString --output text > ~\/\.kube\/config/);
  for (const value of Object.values(output)) expect(value.description).toEqual(expect.any(String));
});
