import { Testing, TerraformStack } from "cdktf";
import { Networking, NetworkingProps } from "../modules/networking";
import { logicalIdOf, referencedId, resourceNamed, resourcesOf, synthCluster, TerraformJson } from "./helpers";

const NAT_ZONES = ["A", "B", "C"];

describe("subnets", () => {
  const { json, synthesized } = synthCluster();

  test("one public and one private subnet per zone with the derived CIDRs", () => {
    const subnets = Object.fromEntries(resourcesOf(json, "aws_subnet").map(([id, body]) => [id.split("_")[1], body]));
    expect(Object.keys(subnets).sort()).toEqual(["PrivateSubnetA", "PrivateSubnetB", "PrivateSubnetC", "PublicSubnetA", "PublicSubnetB", "PublicSubnetC"]);
    // Default zones come from the account at plan time (zone letters differ between accounts), the Nth for subnet N.
    const zones = `data.aws_availability_zones.${Object.keys(json.data!.aws_availability_zones)[0]}.names`;
    expect(subnets.PrivateSubnetB).toMatchObject({ availability_zone: `\${element(${zones}, 1)}`, cidr_block: "10.0.32.0/19" });
    expect(subnets.PublicSubnetC).toMatchObject({ availability_zone: `\${element(${zones}, 2)}`, cidr_block: "10.0.226.0/24", map_public_ip_on_launch: false });
    const listed = Object.fromEntries(resourcesOf(synthCluster({ network: { availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"] } }).json, "aws_subnet").map(([id, body]) => [id.split("_")[1], body]));
    expect(listed.PrivateSubnetB).toMatchObject({ availability_zone: "eu-west-1b", cidr_block: "10.0.32.0/19" });
  });

  test("subnets carry the tags the Kubernetes AWS cloud provider looks for", () => {
    expect(synthesized).toHaveResourceWithProperties({ tfResourceType: "aws_subnet" }, {
      cidr_block: "10.0.224.0/24",
      tags: expect.objectContaining({ "kubernetes.io/cluster/k3s": "shared", "kubernetes.io/role/elb": "1" }),
    });
    for (const [, subnet] of resourcesOf(json, "aws_subnet").filter(([id]) => id.includes("Private"))) {
      expect(subnet.tags).toMatchObject({ "kubernetes.io/cluster/k3s": "shared", "kubernetes.io/role/internal-elb": "1" });
      expect(subnet.tags["kubernetes.io/role/elb"]).toBeUndefined();
    }
  });

  test("VPC has DNS support and hostnames, which node names depend on", () => {
    expect(resourceNamed(json, "aws_vpc", "Networking_Vpc")).toMatchObject({ cidr_block: "10.0.0.0/16", enable_dns_support: true, enable_dns_hostnames: true });
  });
});

describe("zones looked up from the account", () => {
  const props = (zones: Partial<NetworkingProps>): NetworkingProps => ({
    clusterName: "k3s",
    region: "us-west-1",
    vpcCidr: "10.0.0.0/16",
    publicSubnetCidrs: ["10.0.224.0/24", "10.0.225.0/24", "10.0.226.0/24"],
    privateSubnetCidrs: ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"],
    natMode: "per-az",
    flowLogRetentionDays: 90,
    adminCidrs: [],
    nodeMetrics: false,
    ...zones,
  });
  const json: TerraformJson = JSON.parse(Testing.synthScope((scope) => new Networking(scope, "Networking", props({ zoneCount: 3 }))));
  const [zonesId, zones] = Object.entries(json.data!.aws_availability_zones)[0];

  test("only available zones that need no opt-in (no local or wavelength zones)", () => {
    expect(zones).toMatchObject({ state: "available", filter: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] });
  });

  test("the plan fails with a clear message when the region has fewer zones than asked for", () => {
    expect(zones.lifecycle.postcondition).toEqual([
      {
        condition: "${length(self.names) >= 3}",
        error_message:
          'The cluster needs 3 availability zones, but us-west-1 has only ${length(self.names)} available without opt-in (${join(", ", self.names)}). Lower the zone count or list availabilityZones explicitly.',
      },
    ]);
  });

  test("subnets take the first N zone names in order and keep the lettered logical IDs", () => {
    for (const [index, letter] of ["A", "B", "C"].entries()) {
      const zone = `\${element(data.aws_availability_zones.${zonesId}.names, ${index})}`;
      expect(resourceNamed(json, "aws_subnet", `Networking_PublicSubnet${letter}`)).toMatchObject({ availability_zone: zone, cidr_block: `10.0.${224 + index}.0/24` });
      expect(resourceNamed(json, "aws_subnet", `Networking_PrivateSubnet${letter}`)).toMatchObject({ availability_zone: zone, tags: { Name: `k3s-private-${zone}` } });
    }
  });

  test("explicit zones need no lookup", () => {
    const explicit = JSON.parse(Testing.synthScope((scope) => new Networking(scope, "Networking", props({ availabilityZones: ["us-west-1a", "us-west-1b", "us-west-1c"] }))));
    expect(explicit.data?.aws_availability_zones).toBeUndefined();
    expect(resourceNamed(explicit, "aws_subnet", "Networking_PrivateSubnetB").availability_zone).toBe("us-west-1b");
  });

  test.each([
    ["both", { availabilityZones: ["us-west-1a", "us-west-1b", "us-west-1c"], zoneCount: 3 }, "Networking: set exactly one of availabilityZones (explicit zone names) and zoneCount (the region's first N zones)"],
    ["neither", {}, "Networking: set exactly one of availabilityZones (explicit zone names) and zoneCount (the region's first N zones)"],
  ])("refuses %s", (_label, zones, message) => {
    expect(() => new Networking(new TerraformStack(Testing.app(), "test"), "Networking", props(zones))).toThrow(message);
  });
});

describe("routing", () => {
  test("public subnets route to the internet gateway", () => {
    const { json } = synthCluster();
    const publicTable = logicalIdOf(json, "aws_route_table", "Networking_PublicRouteTable");
    const route = resourceNamed(json, "aws_route", "Networking_PublicDefaultRoute");
    expect(route.destination_cidr_block).toBe("0.0.0.0/0");
    expect(referencedId(route.gateway_id)).toBe(logicalIdOf(json, "aws_internet_gateway", "Networking_InternetGateway"));
    expect(referencedId(route.route_table_id)).toBe(publicTable);
    for (const zone of NAT_ZONES) {
      const association = resourceNamed(json, "aws_route_table_association", `Networking_PublicRouteTableAssociation${zone}`);
      expect(referencedId(association.route_table_id)).toBe(publicTable);
      expect(referencedId(association.subnet_id)).toBe(logicalIdOf(json, "aws_subnet", `Networking_PublicSubnet${zone}`));
    }
  });

  test("per-az mode: a NAT gateway in each public subnet, each private table routes to its own zone's", () => {
    const { json } = synthCluster({ network: { natMode: "per-az" } });
    expect(resourcesOf(json, "aws_nat_gateway")).toHaveLength(3);
    expect(resourcesOf(json, "aws_eip")).toHaveLength(3);
    for (const zone of NAT_ZONES) {
      const nat = resourceNamed(json, "aws_nat_gateway", `Networking_NatGateway${zone}`);
      expect(referencedId(nat.subnet_id)).toBe(logicalIdOf(json, "aws_subnet", `Networking_PublicSubnet${zone}`));
      const route = resourceNamed(json, "aws_route", `Networking_PrivateDefaultRoute${zone}`);
      expect(route.destination_cidr_block).toBe("0.0.0.0/0");
      expect(referencedId(route.nat_gateway_id)).toBe(logicalIdOf(json, "aws_nat_gateway", `Networking_NatGateway${zone}`));
      expect(referencedId(route.route_table_id)).toBe(logicalIdOf(json, "aws_route_table", `Networking_PrivateRouteTable${zone}`));
      const association = resourceNamed(json, "aws_route_table_association", `Networking_PrivateRouteTableAssociation${zone}`);
      expect(referencedId(association.subnet_id)).toBe(logicalIdOf(json, "aws_subnet", `Networking_PrivateSubnet${zone}`));
    }
  });

  test("single mode: one NAT gateway that every private table routes to", () => {
    const { json } = synthCluster({ network: { natMode: "single" } });
    expect(resourcesOf(json, "aws_nat_gateway")).toHaveLength(1);
    expect(resourcesOf(json, "aws_eip")).toHaveLength(1);
    const nat = logicalIdOf(json, "aws_nat_gateway", "Networking_NatGatewayA");
    for (const zone of NAT_ZONES) {
      expect(referencedId(resourceNamed(json, "aws_route", `Networking_PrivateDefaultRoute${zone}`).nat_gateway_id)).toBe(nat);
    }
    expect(resourcesOf(json, "aws_route_table")).toHaveLength(4);
  });

  test("S3 and DynamoDB gateway endpoints serve exactly the private route tables", () => {
    const { json } = synthCluster();
    const privateTables = NAT_ZONES.map((zone) => `\${aws_route_table.${logicalIdOf(json, "aws_route_table", `Networking_PrivateRouteTable${zone}`)}.id}`);
    for (const [prefix, service] of [["Networking_S3Endpoint", "s3"], ["Networking_DynamoDbEndpoint", "dynamodb"]]) {
      const endpoint = resourceNamed(json, "aws_vpc_endpoint", prefix);
      expect(endpoint).toMatchObject({ service_name: `com.amazonaws.eu-west-1.${service}`, vpc_endpoint_type: "Gateway" });
      expect(endpoint.route_table_ids).toEqual(privateTables);
    }
  });
});

/** Every security-group rule as "group direction protocol port peer", with groups by name. */
function ruleTable(json: TerraformJson): string[] {
  const groupNames = Object.fromEntries(resourcesOf(json, "aws_security_group").map(([id, body]) => [id, body.name.replace(/^k3s-/, "")]));
  const rows: string[] = [];
  for (const [type, direction] of [["aws_vpc_security_group_ingress_rule", "in"], ["aws_vpc_security_group_egress_rule", "out"]]) {
    for (const [, rule] of resourcesOf(json, type)) {
      const peer = rule.cidr_ipv4 ?? groupNames[referencedId(rule.referenced_security_group_id)];
      const port = rule.from_port === rule.to_port ? String(rule.from_port ?? "all") : `${rule.from_port}-${rule.to_port}`;
      rows.push(`${groupNames[referencedId(rule.security_group_id)]} ${direction} ${rule.ip_protocol} ${port} ${peer}`);
    }
  }
  return rows.sort();
}

describe("security groups", () => {
  test("rules follow k3s's port requirements and nothing else", () => {
    expect(ruleTable(synthCluster({ addons: { monitoring: { enabled: false } } }).json)).toEqual(
      [
        "agent in tcp 10250 agent",
        "agent in tcp 10250 server",
        "agent in udp 8472 agent",
        "agent in udp 8472 server",
        "agent in tcp 30080 ingress-lb",
        "agent in tcp 30443 ingress-lb",
        "agent out -1 all 0.0.0.0/0",
        "server in tcp 10250 agent",
        "server in tcp 10250 server",
        "server in udp 8472 agent",
        "server in udp 8472 server",
        "server in tcp 6443 api-lb",
        "server in tcp 6443 agent",
        "server in tcp 6443 server",
        "server out -1 all 0.0.0.0/0",
        "api-lb in tcp 6443 server",
        "api-lb in tcp 6443 agent",
        "api-lb in tcp 6443 lambda",
        "api-lb out tcp 6443 server",
        "ingress-lb in tcp 80 0.0.0.0/0",
        "ingress-lb in tcp 443 0.0.0.0/0",
        "ingress-lb out tcp 30080 agent",
        "ingress-lb out tcp 30443 agent",
        "lambda out tcp 6443 api-lb",
        "lambda out tcp 443 0.0.0.0/0",
        "database in tcp 5432 server",
        "efs in tcp 2049 server",
        "efs in tcp 2049 agent",
      ].sort(),
    );
  });

  // prometheus-node-exporter 4.56.1 values.yaml: hostNetwork: true, service.port 9100. Prometheus runs on the pod network
  // of one node; flannel sends its scrapes of other nodes' addresses from that node's own address, so each node must
  // admit 9100 from every node, or only Prometheus's own node is scraped.
  test("with monitoring (on by default) every node admits node exporter's port 9100 from every node, and nothing else changes", () => {
    const withMonitoring = ruleTable(synthCluster().json);
    const without = ruleTable(synthCluster({ addons: { monitoring: { enabled: false } } }).json);
    expect(withMonitoring.filter((row) => !without.includes(row))).toEqual(["agent in tcp 9100 agent", "agent in tcp 9100 server", "server in tcp 9100 agent", "server in tcp 9100 server"]);
    expect(without.filter((row) => !withMonitoring.includes(row))).toEqual([]);
  });

  test("world-open ingress exists only on the public ingress listener ports, and nothing admits SSH", () => {
    const rows = ruleTable(synthCluster({ api: { publicAccess: true, adminCidrs: ["203.0.113.0/24"] } }).json);
    expect(rows.filter((row) => / in .* 0\.0\.0\.0\/0$/.test(row))).toEqual(["ingress-lb in tcp 443 0.0.0.0/0", "ingress-lb in tcp 80 0.0.0.0/0"]);
    expect(rows.filter((row) => / in (tcp|-1) (22|all) /.test(row))).toEqual([]);
  });

  test("public API access admits only the admin networks, to the servers' API port", () => {
    const rows = ruleTable(synthCluster({ api: { publicAccess: true, adminCidrs: ["203.0.113.0/24", "198.51.100.7/32"] } }).json);
    expect(rows.filter((row) => row.startsWith("public-api-lb") || row.endsWith("public-api-lb"))).toEqual([
      "public-api-lb in tcp 6443 198.51.100.7/32",
      "public-api-lb in tcp 6443 203.0.113.0/24",
      "public-api-lb out tcp 6443 server",
      "server in tcp 6443 public-api-lb",
    ]);
    expect(resourcesOf(synthCluster().json, "aws_security_group").map(([, group]) => group.name)).not.toContain("k3s-public-api-lb");
  });

  test("exactly the node groups carry the cluster tag the cloud provider manages", () => {
    const tagged = resourcesOf(synthCluster().json, "aws_security_group").filter(([, group]) => group.tags["kubernetes.io/cluster/k3s"] === "owned");
    expect(tagged.map(([, group]) => group.name).sort()).toEqual(["k3s-agent", "k3s-server"]);
  });

  test("the VPC's default security group is stripped of all rules", () => {
    const group = resourceNamed(synthCluster().json, "aws_default_security_group", "Networking_DefaultSecurityGroup");
    expect(group.ingress).toBeUndefined();
    expect(group.egress).toBeUndefined();
  });
});

/**
 * Every network ACL rule, inline or an aws_network_acl_rule, as "acl direction rule-number action protocol ports cidr",
 * with ACLs by logical ID and ports "all" for protocol -1.
 */
function aclTable(json: TerraformJson): string[] {
  const aclName = (id: string) => id.split("_")[1];
  const row = (acl: string, egress: boolean, rule: any) =>
    [acl, egress ? "out" : "in", rule.rule_no ?? rule.rule_number, rule.action ?? rule.rule_action, rule.protocol, rule.protocol === "-1" ? "all" : `${rule.from_port}-${rule.to_port}`, rule.cidr_block].join(" ");
  const rows = resourcesOf(json, "aws_network_acl").flatMap(([id, acl]) => [
    ...(acl.ingress ?? []).map((rule: any) => row(aclName(id), false, rule)),
    ...(acl.egress ?? []).map((rule: any) => row(aclName(id), true, rule)),
  ]);
  for (const [, rule] of resourcesOf(json, "aws_network_acl_rule")) rows.push(row(aclName(referencedId(rule.network_acl_id)), rule.egress === true, rule));
  return rows.sort();
}

describe("network ACLs and flow logs", () => {
  const { json } = synthCluster();

  test("network ACL rules are exactly these", () => {
    // ACLs are stateless: a reply is a packet of its own that some rule must admit (VPC user guide, "Control subnet
    // traffic with network access control lists"). Replies come back to ephemeral ports, and NAT gateways and load
    // balancers use 1024-65535 ("Ephemeral ports" in that guide), so the reply rules cover that range; the security
    // groups stay the firewall that decides which connections exist.
    expect(aclTable(json)).toEqual(
      [
        // Node to node, load balancer to target, private subnets to their NAT gateway.
        "PublicNetworkAcl in 100 allow -1 all 10.0.0.0/16",
        // The ingress load balancer's listeners; an NLB keeps the client's address, so the ACL sees the internet.
        "PublicNetworkAcl in 110 allow tcp 80-80 0.0.0.0/0",
        "PublicNetworkAcl in 120 allow tcp 443-443 0.0.0.0/0",
        // Replies to what the NAT gateways and load balancers sent out.
        "PublicNetworkAcl in 200 allow tcp 1024-65535 0.0.0.0/0",
        "PublicNetworkAcl in 210 allow udp 1024-65535 0.0.0.0/0",
        // Outbound is the security groups' business; replies to clients leave to their ephemeral ports.
        "PublicNetworkAcl out 100 allow -1 all 0.0.0.0/0",
        "PrivateNetworkAcl in 100 allow -1 all 10.0.0.0/16",
        // Replies to nodes' and functions' own connections through NAT: their source is the internet address the
        // node called, so the VPC rule does not admit them. Without this no image pull or AWS API call completes.
        "PrivateNetworkAcl in 200 allow tcp 1024-65535 0.0.0.0/0",
        "PrivateNetworkAcl in 210 allow udp 1024-65535 0.0.0.0/0",
        "PrivateNetworkAcl out 100 allow -1 all 0.0.0.0/0",
      ].sort(),
    );
  });

  test("the public ACL covers the public subnets and the private ACL the private ones", () => {
    for (const [acl, kind] of [["PublicNetworkAcl", "Public"], ["PrivateNetworkAcl", "Private"]]) {
      expect(resourceNamed(json, "aws_network_acl", `Networking_${acl}`).subnet_ids.map(referencedId)).toEqual(NAT_ZONES.map((zone) => logicalIdOf(json, "aws_subnet", `Networking_${kind}Subnet${zone}`)));
    }
  });

  test("no network ACL admits SSH or telnet from the internet", () => {
    for (const [, acl] of resourcesOf(json, "aws_network_acl")) {
      const worldOpen = acl.ingress.filter((rule: any) => rule.cidr_block === "0.0.0.0/0" && rule.action === "allow");
      for (const port of [22, 23]) {
        expect(worldOpen.filter((rule: any) => rule.protocol === "-1" || (rule.from_port <= port && port <= rule.to_port))).toEqual([]);
      }
    }
  });

  test("all VPC traffic is logged to a log group with the configured retention", () => {
    const flowLog = resourceNamed(json, "aws_flow_log", "Networking_FlowLog");
    expect(flowLog).toMatchObject({ traffic_type: "ALL", log_destination_type: "cloud-watch-logs" });
    expect(referencedId(flowLog.log_destination)).toBe(logicalIdOf(json, "aws_cloudwatch_log_group", "Networking_FlowLogGroup"));
    expect(referencedId(flowLog.iam_role_arn)).toBe(logicalIdOf(json, "aws_iam_role", "Networking_FlowLogRole"));
    expect(resourceNamed(json, "aws_cloudwatch_log_group", "Networking_FlowLogGroup").retention_in_days).toBe(90);
    expect(resourceNamed(synthCluster({ network: { flowLogRetentionDays: 30 } }).json, "aws_cloudwatch_log_group", "Networking_FlowLogGroup").retention_in_days).toBe(30);
  });

  test("only this account's flow logs in this region may assume the flow-log role, whose name carries the region", () => {
    const role = resourceNamed(json, "aws_iam_role", "Networking_FlowLogRole");
    expect(role.name).toBe("k3s-eu-west-1-vpc-flow-logs");
    const documentId = /data\.aws_iam_policy_document\.([A-Za-z0-9_]+)\.json/.exec(role.assume_role_policy)![1];
    const [statement] = json.data!.aws_iam_policy_document[documentId].statement;
    const account = `\${data.aws_caller_identity.${Object.keys(json.data!.aws_caller_identity).find((id) => id.startsWith("Networking_"))}.account_id}`;
    const partition = `\${data.aws_partition.${Object.keys(json.data!.aws_partition).find((id) => id.startsWith("Networking_"))}.partition}`;
    // The condition block the VPC user guide recommends ("IAM role for publishing flow logs to CloudWatch Logs").
    expect(statement.principals).toEqual([{ type: "Service", identifiers: ["vpc-flow-logs.amazonaws.com"] }]);
    expect(statement.condition).toEqual([
      { test: "StringEquals", variable: "aws:SourceAccount", values: [account] },
      { test: "ArnLike", variable: "aws:SourceArn", values: [`arn:${partition}:ec2:eu-west-1:${account}:vpc-flow-log/*`] },
    ]);
  });
});
