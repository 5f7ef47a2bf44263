import { load, loadAll } from "js-yaml";
import { asDelivered, localNamed, referencedId, resourcesOf, synthCluster } from "./helpers";

/**
 * Ports and names that Terraform, the bootstrap scripts and the manifests must agree on, followed from one end to the
 * other through the synthesised JSON: a drift in any one place breaks the path, whichever constant it came from.
 * Expectations are the README's ("Load balancers", "Security groups") and k3s's defaults, not modules/ports.ts.
 */

const { json } = synthCluster({ api: { publicAccess: true, adminCidrs: ["203.0.113.0/24"] } });
const server = asDelivered(localNamed(json, "Compute_Servers_UserData"));
const agent = asDelivered(localNamed(json, "Compute_Agents_UserData"));

/** The logical ID of the one resource of `type` whose ID starts with `prefix`. */
function idOf(type: string, prefix: string): string {
  const ids = resourcesOf(json, type).map(([id]) => id).filter((id) => id.startsWith(`${prefix}_`));
  if (ids.length !== 1) throw new Error(`expected one ${type} ${prefix}, found ${ids.join(", ") || "none"}`);
  return ids[0];
}

const groupId = (name: string) => idOf("aws_security_group", `Networking_SecurityGroups_${name}`);

/** TCP ports a security group admits from (or sends to) a peer group or CIDR. */
function rulePorts(direction: "ingress" | "egress", group: string, peer: { group: string } | { cidr: string }): number[] {
  return resourcesOf(json, `aws_vpc_security_group_${direction}_rule`)
    .map(([, rule]) => rule)
    .filter((rule) => rule.ip_protocol === "tcp" && referencedId(rule.security_group_id) === group)
    .filter((rule) => ("cidr" in peer ? rule.cidr_ipv4 === peer.cidr : rule.referenced_security_group_id && referencedId(rule.referenced_security_group_id) === peer.group))
    .map((rule) => {
      expect(rule.to_port).toBe(rule.from_port);
      return rule.from_port;
    })
    .sort((a, b) => a - b);
}

/** Each listener of a load balancer as [listener port, port of the target group it forwards to]. */
function forwards(loadBalancer: string): [number, number][] {
  const lb = idOf("aws_lb", `LoadBalancing_${loadBalancer}LoadBalancer`);
  const targetGroups = Object.fromEntries(resourcesOf(json, "aws_lb_target_group"));
  return resourcesOf(json, "aws_lb_listener")
    .map(([, listener]) => listener)
    .filter((listener) => referencedId(listener.load_balancer_arn) === lb)
    .map((listener): [number, number] => [listener.port, targetGroups[referencedId(listener.default_action[0].target_group_arn)].port])
    .sort(([a], [b]) => a - b);
}

/** The security group the instances of a launch template start in. */
function launchTemplateGroup(role: "Server" | "Agent"): string {
  const [, template] = resourcesOf(json, "aws_launch_template").find(([id]) => id.startsWith(`Compute_${role}s_LaunchTemplate_`))!;
  return referencedId(template.vpc_security_group_ids[0]);
}

/** The YAML documents a server script writes to k3s's manifests directory under `file`. */
function manifest(file: string): any[] {
  const opening = `cat >"$MANIFESTS/${file}" <<'YAML'\n`;
  const start = server.indexOf(opening);
  expect(start).toBeGreaterThan(-1);
  const body = server.slice(start + opening.length, server.indexOf("\nYAML\n", start));
  return loadAll(body).filter((document) => document !== null);
}

describe("public ingress: one port pair from the internet to Traefik", () => {
  // README, "Load balancers": TCP 80 and 443 forwarded to the fixed NodePorts 30080/30443 of Traefik's Service;
  // Traefik's chart calls its HTTP entry point "web" and its HTTPS one "websecure".
  const PATHS = [
    { entryPoint: "web", listenerPort: 80, nodePort: 30080 },
    { entryPoint: "websecure", listenerPort: 443, nodePort: 30443 },
  ];
  const ingressLb = groupId("IngressLoadBalancer");
  const agents = launchTemplateGroup("Agent");

  test("the load balancer listens on 80 and 443 and forwards each to its NodePort", () => {
    expect(forwards("Ingress")).toEqual(PATHS.map(({ listenerPort, nodePort }) => [listenerPort, nodePort]));
  });

  test("the network ACL and the load balancer's security group admit exactly the listener ports from the internet", () => {
    const [, publicAcl] = resourcesOf(json, "aws_network_acl").find(([id]) => id.startsWith("Networking_PublicNetworkAcl_"))!;
    const aclPorts = publicAcl.ingress
      .filter((rule: any) => rule.protocol === "tcp" && rule.cidr_block === "0.0.0.0/0" && rule.from_port === rule.to_port)
      .map((rule: any) => rule.from_port)
      .sort((a: number, b: number) => a - b);
    const listenerPorts = PATHS.map((path) => path.listenerPort);
    expect(aclPorts).toEqual(listenerPorts);
    expect(rulePorts("ingress", ingressLb, { cidr: "0.0.0.0/0" })).toEqual(listenerPorts);
  });

  test("the NodePorts are open from the load balancer to the agents, both ways", () => {
    const nodePorts = PATHS.map((path) => path.nodePort);
    expect(rulePorts("egress", ingressLb, { group: agents })).toEqual(nodePorts);
    expect(rulePorts("ingress", agents, { group: ingressLb })).toEqual(nodePorts);
  });

  test("Traefik's manifest puts each entry point on the NodePort its listener forwards to", () => {
    const [config] = manifest("traefik-node-ports.yaml");
    const values = load(config.spec.valuesContent) as any;
    expect(values.service.type).toBe("NodePort");
    const targetOf = Object.fromEntries(forwards("Ingress"));
    for (const { entryPoint, listenerPort } of PATHS) {
      expect({ entryPoint, nodePort: values.ports[entryPoint].nodePort }).toEqual({ entryPoint, nodePort: targetOf[listenerPort] });
    }
  });
});

describe("Kubernetes API: one port from the load balancers, scripts and kubeconfig to k3s", () => {
  // k3s listens on 6443 (https-listen-port's default) and writes its own kubeconfig for https://127.0.0.1:6443
  // (docs.k3s.io, "Cluster Access").
  const K3S_API_PORT = 6443;
  const servers = launchTemplateGroup("Server");

  test("both API load balancers listen on and forward to k3s's port", () => {
    expect(forwards("Api")).toEqual([[K3S_API_PORT, K3S_API_PORT]]);
    expect(forwards("PublicApi")).toEqual([[K3S_API_PORT, K3S_API_PORT]]);
  });

  test("the servers admit the port from both load balancers, which send only it", () => {
    for (const lb of ["ApiLoadBalancer", "PublicApiLoadBalancer"]) {
      expect(rulePorts("ingress", servers, { group: groupId(lb) })).toEqual([K3S_API_PORT]);
      expect(rulePorts("egress", groupId(lb), { group: servers })).toEqual([K3S_API_PORT]);
    }
    expect(rulePorts("ingress", groupId("PublicApiLoadBalancer"), { cidr: "203.0.113.0/24" })).toEqual([K3S_API_PORT]);
  });

  test("the scripts join, publish and rewrite the kubeconfig on that port", () => {
    const assignment = (script: string, name: string) => new URL(new RegExp(`^${name}="([^"]+)"$`, "m").exec(script)![1]);
    for (const script of [server, agent]) expect(assignment(script, "API_ENDPOINT").port).toBe(String(K3S_API_PORT));
    expect(assignment(server, "KUBECONFIG_ENDPOINT").port).toBe(String(K3S_API_PORT));
    // The rewrite must match what k3s writes, or the published kubeconfig points at 127.0.0.1.
    const [, localServer] = /^sed "s#([^#]+)#\$KUBECONFIG_ENDPOINT#" \/etc\/rancher\/k3s\/k3s\.yaml/m.exec(server)!;
    expect(localServer).toBe(`https://127.0.0.1:${K3S_API_PORT}`);
  });

  test("the api_endpoint output names the same port", () => {
    expect(new URL(asDelivered(json.output!.api_endpoint.value)).port).toBe(String(K3S_API_PORT));
  });
});

test("the server reads the automation token from the Secret its manifest creates", () => {
  const secret = manifest("cluster-automation-rbac.yaml").find((document) => document.kind === "Secret");
  expect(secret.type).toBe("kubernetes.io/service-account-token");
  const reads = [...server.matchAll(/k3s kubectl -n (\S+) get secret (\S+) /g)].map(([, namespace, name]) => ({ namespace, name }));
  expect(reads).toHaveLength(2);
  for (const read of reads) expect(read).toEqual({ namespace: secret.metadata.namespace, name: secret.metadata.name });
});
